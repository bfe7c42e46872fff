import type { CommandDefinition } from '../../src/cli/command.js';
import { alignCommand as embeddedAlignCommand } from '../../src/cli/commands/align.js';
import { natsProductsOptionSpecs } from './nats-products-options.js';

/**
 * `mal align` as the full program has it: the embedded command (src/cli/commands/align.ts), plus `--nats`, which
 * sends weight matching's cost-matrix products to the NATS task workers; the solver and the outputs stay here.
 */
export const alignCommand: CommandDefinition = {
  ...embeddedAlignCommand,
  summary: `${embeddedAlignCommand.summary} With --nats the cost-matrix products run on the task workers (mal worker).`,
  options: { ...embeddedAlignCommand.options, ...natsProductsOptionSpecs },
  run: async (args, io) => {
    const { natsProductsFor } = await import('./nats-products-run.js');
    const { runAlign } = await import('../../src/cli/commands/align-run.js');
    const products = natsProductsFor(args, args.strings.get('match') !== 'activations');
    return runAlign(args, io, products);
  },
};
