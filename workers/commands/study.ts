import type { CommandDefinition } from '../../src/cli/command.js';
import { studyCommand as embeddedStudyCommand } from '../../src/cli/commands/study.js';
import { temporalOptionSpecs } from '../temporal/temporal-settings.js';

/**
 * `mal study` as the full program has it: the embedded command (src/cli/commands/study.ts), plus `--cluster`,
 * which submits the same study as a durable Temporal workflow whose cells run on the NATS task workers. The
 * cluster half lives here because src/ never imports workers/.
 */
export const studyCommand: CommandDefinition = {
  ...embeddedStudyCommand,
  summary: `${embeddedStudyCommand.summary} With --cluster the study is submitted to the Temporal cluster instead (its run id is printed; \`mal status <run>\` shows its progress) and its cells run on the NATS task workers; the study file, zoo and output folder must be at the same paths on the Temporal workers.`,
  options: {
    ...embeddedStudyCommand.options,
    cluster: {
      type: 'boolean',
      description: 'submit the study to the Temporal cluster and print its run id',
    },
    wait: {
      type: 'boolean',
      description: 'with --cluster: follow its progress until it finishes, then print the outcome',
    },
    id: {
      type: 'string',
      valueName: 'run-id',
      description: 'with --cluster: run id (default: study-<name>-<hash>)',
    },
    'chunk-cells': {
      type: 'number',
      integer: true,
      min: 1,
      max: 10_000,
      valueName: 'n',
      description: 'with --cluster: most cells per chunk activity (whole pairs; default 16)',
    },
    'chunks-per-execution': {
      type: 'number',
      integer: true,
      min: 1,
      max: 100_000,
      valueName: 'n',
      description: 'with --cluster: chunks per workflow execution before continue-as-new (default 200)',
    },
    'heartbeat-timeout': {
      type: 'number',
      min: 1,
      max: 86_400,
      valueName: 'seconds',
      description:
        'with --cluster: how long a chunk may go without a heartbeat before it is retried elsewhere (default 60)',
    },
    ...temporalOptionSpecs,
  },
  run: async (args, io) =>
    args.flags.has('cluster')
      ? (await import('./study-submit-run.js')).runStudySubmit(args, io)
      : (await import('./study-submit-run.js')).runEmbeddedStudy(args, io),
};
