import { connect } from 'nats';
import type { CommandIO, ParsedArgs } from '../../src/cli/command.js';
import { describeServers, natsConnectionOptions } from '../nats/connection-options.js';
import { NatsUnavailableError } from '../nats/nats-errors.js';
import { type FailedResult, NatsResultStore } from '../nats/result-store.js';

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
    const store = await NatsResultStore.open(nc);
    const forget = args.flags.has('forget');
    const failures: FailedResult[] = [];
    let looked = 0;
    for await (const failure of store.failures((keys) => {
      looked = keys;
      io.progress(`results: ${keys} looked at, ${failures.length} failed`);
    })) {
      failures.push(failure);
      // Forgotten one by one: a run stopped halfway leaves the rest listed, nothing half removed.
      if (forget) await store.forget(failure.key);
    }
    if (args.flags.has('json')) {
      io.out(JSON.stringify({ results: looked, failures, forgotten: forget ? failures.length : 0 }));
      return 0;
    }
    for (const f of failures) {
      io.out(`${f.key}  ${f.kind}  ${f.error.name}: ${f.error.message} (worker ${f.worker})`);
    }
    const summary = `${failures.length} failed of ${looked} recorded result(s)`;
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
