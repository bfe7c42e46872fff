import { connect } from 'nats';
import type { CommandIO, ParsedArgs } from '../../src/cli/command.js';
import { describeServers, natsConnectionOptions } from '../nats/connection-options.js';
import { NatsUnavailableError } from '../nats/nats-errors.js';
import { type FailedResult, NatsResultStore } from '../nats/result-store.js';
import { RESULT_BUCKET } from '../nats/task-infrastructure.js';

export async function runResultsFailures(args: ParsedArgs, io: CommandIO): Promise<number> {
  const connection = natsConnectionOptions({
    url: args.strings.get('nats-url'),
    creds: args.strings.get('nats-creds'),
    user: args.strings.get('nats-user'),
    tlsCa: args.strings.get('nats-tls-ca'),
    name: 'mal results',
  });
  const nc = await connect(connection).catch((error: unknown) => {
    throw new NatsUnavailableError(
      `NATS at ${describeServers(connection)} cannot be reached: ${(error as Error).message}`,
    );
  });
  try {
    // A listing creates nothing: a server without the bucket has recorded nothing.
    const jsm = await nc.jetstreamManager();
    const exists = await jsm.streams.info(`KV_${RESULT_BUCKET}`).then(
      () => true,
      () => false,
    );
    if (!exists) {
      io.out(`no result store (bucket ${RESULT_BUCKET}) at ${describeServers(connection)}: nothing recorded`);
      return 0;
    }
    const store = await NatsResultStore.open(nc);
    const forget = args.flags.has('forget');
    const kind = args.strings.get('kind');
    const errorName = args.strings.get('error');
    const failures: FailedResult[] = [];
    let looked = 0;
    io.progress('results: listing keys');
    for await (const failure of store.failures((keys) => {
      looked = keys;
      io.progress(`results: ${keys} looked at, ${failures.length} failed`);
    })) {
      if (kind !== undefined && failure.kind !== kind) continue;
      if (errorName !== undefined && failure.error.name !== errorName) continue;
      failures.push(failure);
      // Forgotten one by one: a run stopped halfway leaves the rest listed, nothing half removed.
      if (forget) await store.forget(failure.key);
    }
    if (args.flags.has('json')) {
      io.out(JSON.stringify({ results: looked, failures, forgotten: forget ? failures.length : 0 }));
      return 0;
    }
    for (const f of failures) {
      const message = f.error.message.replace(/\s*\n\s*/g, ' ');
      io.out(`${f.key}  ${f.kind}  ${f.error.name}: ${message} (worker ${f.worker})`);
    }
    const which = [kind === undefined ? '' : ` ${kind}`, errorName === undefined ? '' : ` ${errorName}`].join(
      '',
    );
    const summary = `${failures.length}${which} failed of ${looked} recorded result(s)`;
    io.out(
      forget && failures.length > 0
        ? `${summary}; forgotten: their tasks run again when next submitted`
        : summary,
    );
    return 0;
  } finally {
    await nc.close();
  }
}
