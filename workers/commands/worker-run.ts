import { availableParallelism } from 'node:os';
import type { CommandIO, ParsedArgs } from '../../src/cli/command.js';
import { numberOption, requiredNumber, requiredString } from '../../src/cli/command.js';
import {
  type BackendPreference,
  backendPreferenceFromEnv,
  describeBackend,
  initBackend,
  parseBackendPreference,
} from '../../src/compute/backend.js';
import { natsConnectionOptions } from '../nats/connection-options.js';
import { checkPoolName } from '../nats/task-infrastructure.js';
import { startTaskWorker } from '../task-worker.js';

export async function runWorker(args: ParsedArgs, io: CommandIO): Promise<number> {
  const pool = checkPoolName(requiredString(args, 'pool'));
  const backendText = args.strings.get('backend');
  const preference: BackendPreference =
    backendText === undefined ? backendPreferenceFromEnv() : parseBackendPreference(backendText, '--backend');
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
    concurrency: numberOption(args, 'concurrency') ?? availableParallelism(),
    backend: backend.name,
    dataDir: args.strings.get('data-dir'),
    ackWaitMs: requiredNumber(args, 'ack-wait-ms'),
    maxDeliver: requiredNumber(args, 'max-deliver'),
    cacheBytes: requiredNumber(args, 'cache-mb') * 1024 * 1024,
    dataCacheBytes: requiredNumber(args, 'data-cache-mb') * 1024 * 1024,
    taskDeadlineMs: secondsToMs(numberOption(args, 'task-deadline-s')),
    stopGraceMs: requiredNumber(args, 'stop-grace-s') * 1000,
    log: io.err,
  });
  io.err(`worker ${worker.id}: ${describeBackend(backend)}`);
  const onSignal = (signal: NodeJS.Signals): void => {
    io.err(
      `worker ${worker.id}: ${signal}, stopping (running tasks get the stop grace, then go back to the queue)`,
    );
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
}

function secondsToMs(seconds: number | undefined): number | undefined {
  return seconds === undefined ? undefined : seconds * 1000;
}
