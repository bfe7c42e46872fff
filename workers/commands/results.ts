import type { CommandDefinition } from '../../src/cli/command.js';
import { DEFAULT_NATS_URL, NATS_ENV } from '../nats/nats-defaults.js';
import { natsCredentialOptionSpecs, natsUrlOptionSpec } from './nats-option-specs.js';

export const resultsFailuresCommand: CommandDefinition = {
  name: 'results failures',
  summary:
    "List the task failures recorded in the result store (mal-results): each task's key, kind, error and worker. " +
    'A failure recorded for good is read back by every later run of its task, even after its cause is fixed ' +
    '(workers upgraded, a tensor replaced); --forget removes them, so their tasks run again when next submitted. ' +
    `Connection: --nats-url or $${NATS_ENV.url} (default ${DEFAULT_NATS_URL}); forgetting needs a user that may ` +
    'write results (admin or worker).',
  positionals: [],
  options: {
    forget: { type: 'boolean', description: 'remove the failures listed, so their tasks run again' },
    kind: {
      type: 'string',
      valueName: 'kind',
      description: 'only failures of tasks of this kind (evaluate, align, curve, study-cell, …)',
    },
    error: {
      type: 'string',
      valueName: 'name',
      description: 'only failures with this error name (SpecError, DeliveriesExhaustedError, …)',
    },
    json: { type: 'boolean', description: 'print one JSON object' },
    'nats-url': natsUrlOptionSpec(),
    ...natsCredentialOptionSpecs(),
  },
  run: async (args, io) => (await import('./results-run.js')).runResultsFailures(args, io),
};
