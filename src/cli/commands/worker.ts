import { availableParallelism } from 'node:os';
import {
  DEFAULT_NATS_URL,
  NATS_ENV,
  natsConnectionOptions,
} from '../../../workers/nats/connection-options.js';
import {
  checkPoolName,
  DEFAULT_ACK_WAIT_MS,
  DEFAULT_MAX_DELIVER,
} from '../../../workers/nats/task-infrastructure.js';
import { startTaskWorker } from '../../../workers/task-worker.js';
import {
  type BackendPreference,
  backendPreferenceFromEnv,
  describeBackend,
  initBackend,
  parseBackendPreference,
} from '../../compute/backend.js';
import { UsageError } from '../../errors.js';
import type { Command, ParsedArgs } from '../command.js';

function positiveInteger(args: ParsedArgs, name: string, fallback: number): number {
  const text = args.strings.get(name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new UsageError(`--${name}: expected a positive integer, got '${text}'`);
  }
  return value;
}

export const workerCommand: Command = {
  name: 'worker',
  summary:
    'Run a task worker: pull alignment and evaluation tasks of one pool from NATS JetStream and run them on a thread pool. ' +
    `Connection: --nats-url or $${NATS_ENV.url} (default ${DEFAULT_NATS_URL}), --nats-creds or $${NATS_ENV.creds}, ` +
    `$${NATS_ENV.user} and $${NATS_ENV.password}, --nats-tls-ca or $${NATS_ENV.tlsCa}. Stops cleanly on SIGINT or SIGTERM, finishing running tasks.`,
  positionals: [],
  options: {
    pool: {
      type: 'string',
      valueName: 'name',
      description: 'pool to serve (gpu, cpu, …): tasks on mal.tasks.<name>',
    },
    concurrency: {
      type: 'string',
      valueName: 'n',
      description: 'tasks at once, one thread each (default: cores)',
    },
    backend: {
      type: 'string',
      valueName: 'name',
      description:
        'TensorFlow.js backend for evaluations (default: $MAL_BACKEND, else the best available); evaluation tasks name the backend they need',
    },
    'nats-url': {
      type: 'string',
      valueName: 'url',
      description: `NATS server(s), comma-separated (default: $${NATS_ENV.url}, else ${DEFAULT_NATS_URL})`,
    },
    'nats-creds': {
      type: 'string',
      valueName: 'file',
      description: `NATS credentials file (default: $${NATS_ENV.creds})`,
    },
    'nats-user': {
      type: 'string',
      valueName: 'user',
      description: `NATS user (default: $${NATS_ENV.user}; password from $${NATS_ENV.password})`,
    },
    'nats-tls-ca': {
      type: 'string',
      valueName: 'file',
      description: `CA certificate for TLS to NATS (default: $${NATS_ENV.tlsCa})`,
    },
    'data-dir': {
      type: 'string',
      valueName: 'dir',
      description: 'folder of the Fashion-MNIST files (default: $MAL_DATA_DIR)',
    },
    'ack-wait-ms': {
      type: 'string',
      valueName: 'ms',
      description: `how long a task may go without a sign of life before it is given to another worker (default: ${DEFAULT_ACK_WAIT_MS})`,
    },
    'max-deliver': {
      type: 'string',
      valueName: 'n',
      description: `deliveries of one task before its last failure is recorded as its result (default: ${DEFAULT_MAX_DELIVER})`,
    },
    'cache-mb': {
      type: 'string',
      valueName: 'mb',
      description: 'memory for fetched tensors (default: 2048)',
    },
  },
  async run(args, io) {
    const poolName = args.strings.get('pool');
    if (poolName === undefined)
      throw new UsageError('--pool is required: the pool this worker serves (e.g. cpu)');
    const pool = checkPoolName(poolName);
    const backendText = args.strings.get('backend');
    const preference: BackendPreference =
      backendText === undefined
        ? backendPreferenceFromEnv()
        : parseBackendPreference(backendText, '--backend');
    const backend = await initBackend(preference);
    const connection = natsConnectionOptions({
      url: args.strings.get('nats-url'),
      creds: args.strings.get('nats-creds'),
      user: args.strings.get('nats-user'),
      tlsCa: args.strings.get('nats-tls-ca'),
    });
    const worker = await startTaskWorker({
      connection,
      pool,
      concurrency: positiveInteger(args, 'concurrency', availableParallelism()),
      backend: backend.name,
      dataDir: args.strings.get('data-dir'),
      ackWaitMs: positiveInteger(args, 'ack-wait-ms', DEFAULT_ACK_WAIT_MS),
      maxDeliver: positiveInteger(args, 'max-deliver', DEFAULT_MAX_DELIVER),
      cacheBytes: positiveInteger(args, 'cache-mb', 2048) * 1024 * 1024,
      log: io.err,
    });
    io.err(`worker ${worker.id}: ${describeBackend(backend)}`);
    const onSignal = (signal: NodeJS.Signals): void => {
      io.err(`worker ${worker.id}: ${signal}, finishing running tasks`);
      void worker.stop();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      await worker.done;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    io.err(`worker ${worker.id}: stopped`);
    return 0;
  },
};
