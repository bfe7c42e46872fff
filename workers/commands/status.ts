import type { CommandDefinition } from '../../src/cli/command.js';
import { temporalOptionSpecs } from '../temporal/temporal-settings.js';

export const statusCommand: CommandDefinition = {
  name: 'status',
  summary:
    "Show a submitted run's state: workflow status, step, budget, objective, last accepted candidate; for a study run (`mal study --cluster`), cells and pairs done, rate and time left.",
  positionals: ['run'],
  options: {
    json: { type: 'boolean', description: 'print one JSON object' },
    ...temporalOptionSpecs,
  },
  run: async (args, io) => (await import('./status-run.js')).runStatus(args, io),
};
