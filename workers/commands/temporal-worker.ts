import type { CommandDefinition } from '../../src/cli/command.js';
import { temporalOptionSpecs } from '../temporal/temporal-settings.js';

export const temporalWorkerCommand: CommandDefinition = {
  name: 'temporal-worker',
  summary:
    'Run a Temporal worker that executes assembly workflows and their steps (prepare, step, finish) until SIGINT or SIGTERM. Steps evaluate in this process ($MAL_TASKS=local).',
  positionals: [],
  options: { ...temporalOptionSpecs },
  run: async (args, io) => (await import('./temporal-worker-run.js')).runTemporalWorker(args, io),
};
