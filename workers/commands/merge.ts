import type { CommandDefinition } from '../../src/cli/command.js';
import { mergeCommand as embeddedMergeCommand } from '../../src/cli/commands/merge.js';
import { natsProductsOptionSpecs } from './nats-products-options.js';

/**
 * `mal merge` as the full program has it: the embedded command (src/cli/commands/merge.ts), plus `--nats`, which
 * sends the alignment's cost-matrix products to the NATS task workers; the solver, the merge and the outputs stay
 * here.
 */
export async function mergeCommand(): Promise<CommandDefinition> {
  const embedded = await embeddedMergeCommand();
  return {
    ...embedded,
    summary: `${embedded.summary} With --nats the alignment's cost-matrix products run on the task workers (mal worker).`,
    options: { ...embedded.options, ...natsProductsOptionSpecs },
    run: async (args, io) => {
      const { natsProductsFor } = await import('./nats-products-run.js');
      const { runMerge } = await import('../../src/cli/commands/merge-run.js');
      const weightMatching =
        args.strings.get('maps') === undefined && args.strings.get('match') !== 'activations';
      return runMerge(args, io, natsProductsFor(args, weightMatching));
    },
  };
}
