import type { CommandDefinition } from '../../src/cli/command.js';
import { BACKEND_PREFERENCES } from '../../src/compute/backend-preference.js';
import { temporalOptionSpecs } from '../temporal/temporal-settings.js';

export const submitCommand: CommandDefinition = {
  name: 'submit',
  summary:
    'Submit an assembly plan to the Temporal cluster as a durable run and print its run id. The plan, zoo and output folder must be at the same paths on the Temporal workers (a shared folder).',
  positionals: ['plan'],
  options: {
    out: { type: 'string', valueName: 'dir', description: "output folder (default: the plan's output)" },
    id: { type: 'string', valueName: 'run-id', description: 'run id (default: assemble-<plan>-<time>)' },
    backend: {
      type: 'choice',
      choices: BACKEND_PREFERENCES,
      description: "TensorFlow.js backend on the workers (default: the plan's)",
    },
    'steps-per-execution': {
      type: 'number',
      integer: true,
      min: 1,
      max: 10_000,
      valueName: 'n',
      description: 'steps per workflow execution before continue-as-new (default 20)',
    },
    'heartbeat-timeout': {
      type: 'number',
      min: 1,
      max: 86_400,
      valueName: 'seconds',
      description: 'how long a step may go without a heartbeat before it is retried elsewhere (default 120)',
    },
    wait: { type: 'boolean', description: 'wait for the run to finish and print its result' },
    ...temporalOptionSpecs,
  },
  run: async (args, io) => (await import('./submit-run.js')).runSubmit(args, io),
};
