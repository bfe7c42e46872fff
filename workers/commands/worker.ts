import type { CommandDefinition } from '../../src/cli/command.js';
import {
  DEFAULT_ACK_WAIT_MS,
  DEFAULT_DATA_CACHE_BYTES,
  DEFAULT_MAX_DELIVER,
  DEFAULT_NATS_URL,
  DEFAULT_STOP_GRACE_MS,
  DEFAULT_TASK_DEADLINE_MS,
  NATS_ENV,
} from '../nats/nats-defaults.js';
import { natsCredentialOptionSpecs, natsUrlOptionSpec } from './nats-option-specs.js';

const minutes = (ms: number): string => `${ms / 60_000} min`;

export const workerCommand: CommandDefinition = {
  name: 'worker',
  summary:
    'Run a task worker: pull alignment and evaluation tasks of one pool from NATS JetStream and run them on a thread pool. ' +
    `Connection: --nats-url or $${NATS_ENV.url} (default ${DEFAULT_NATS_URL}), --nats-creds or $${NATS_ENV.creds}, ` +
    `$${NATS_ENV.user} and $${NATS_ENV.password}, --nats-tls-ca or $${NATS_ENV.tlsCa}. Stops on SIGINT or SIGTERM: running tasks get the stop grace to finish, the rest are left for redelivery.`,
  positionals: [],
  options: {
    pool: {
      type: 'string',
      valueName: 'name',
      description: 'pool to serve (gpu, cpu, …): tasks on mal.tasks.<name>',
      required: true,
    },
    concurrency: {
      type: 'number',
      integer: true,
      min: 1,
      valueName: 'n',
      description: 'tasks at once, one thread each (default: cores)',
    },
    backend: {
      type: 'string',
      valueName: 'name',
      description:
        'TensorFlow.js backend for evaluations (default: $MAL_BACKEND, else the best available); evaluation tasks name the backend they need',
    },
    'nats-url': natsUrlOptionSpec(),
    ...natsCredentialOptionSpecs(),
    'data-dir': {
      type: 'string',
      valueName: 'dir',
      description: 'folder of the Fashion-MNIST files (default: $MAL_DATA_DIR)',
    },
    'ack-wait-ms': {
      type: 'number',
      integer: true,
      min: 1,
      valueName: 'ms',
      description: 'how long a task may go without a sign of life before it is given to another worker',
      default: DEFAULT_ACK_WAIT_MS,
    },
    'max-deliver': {
      type: 'number',
      integer: true,
      min: 1,
      valueName: 'n',
      description: 'deliveries of one task before its last failure is recorded as its result',
      default: DEFAULT_MAX_DELIVER,
    },
    'task-deadline-s': {
      type: 'number',
      integer: true,
      min: 1,
      valueName: 's',
      description: `hard limit on one task's run; past it its thread is ended and the task failed for good (default by kind: evaluate ${minutes(DEFAULT_TASK_DEADLINE_MS.evaluate)}, align ${minutes(DEFAULT_TASK_DEADLINE_MS.align)}, noop ${minutes(DEFAULT_TASK_DEADLINE_MS.noop)})`,
    },
    'stop-grace-s': {
      type: 'number',
      integer: true,
      min: 0,
      valueName: 's',
      description:
        'after SIGINT or SIGTERM, how long running tasks may finish before they are left for redelivery',
      default: DEFAULT_STOP_GRACE_MS / 1000,
    },
    'cache-mb': {
      type: 'number',
      integer: true,
      min: 1,
      valueName: 'mb',
      description: 'memory for fetched tensors; a task whose tensors take more is refused',
      default: 2048,
    },
    'data-cache-mb': {
      type: 'number',
      integer: true,
      min: 1,
      valueName: 'mb',
      description:
        'memory for loaded data sets and statistics examples kept between tasks; the least recently used go first',
      default: DEFAULT_DATA_CACHE_BYTES / (1024 * 1024),
    },
  },
  run: async (args, io) => (await import('./worker-run.js')).runWorker(args, io),
};
