import { StreamedPairedTensors } from '../../src/align/paired-tensors.js';
import type { ParsedArgs } from '../../src/cli/command.js';
import type { CostProductSource } from '../../src/cli/cost-product-source.js';
import { UsageError } from '../../src/errors.js';
import { describeServers, natsConnectionOptions } from '../nats/connection-options.js';
import { NatsCostProducts } from '../nats/nats-cost-products.js';
import { NatsUnavailableError } from '../nats/nats-errors.js';
import { poolIsServed } from '../nats/pool-workers.js';
import { DEFAULT_TIMEOUT_MS, NatsTaskDispatcher } from '../nats/task-dispatcher.js';
import { checkPoolName } from '../nats/task-infrastructure.js';
import { DEFAULT_PRODUCTS_POOL, NATS_ONLY_OPTIONS } from './nats-products-options.js';

/**
 * Where an align or merge command's products run: the task workers when --nats is given, else here (undefined).
 * Refuses --nats where weight matching does not run (--maps, --match activations), and the --nats-only options
 * without --nats, before any work.
 */
export function natsProductsFor(args: ParsedArgs, weightMatching: boolean): CostProductSource | undefined {
  const url = args.strings.get('nats');
  if (url === undefined) {
    const given = NATS_ONLY_OPTIONS.find((o) => args.strings.has(o));
    if (given !== undefined) throw new UsageError(`--${given} needs --nats`);
    return undefined;
  }
  if (!weightMatching)
    throw new UsageError(
      "--nats sends weight matching's cost-matrix products to the task workers; with --maps or --match activations there are none",
    );
  const pool = checkPoolName(args.strings.get('pool') ?? DEFAULT_PRODUCTS_POOL);
  const connection = natsConnectionOptions({
    url,
    creds: args.strings.get('nats-creds'),
    user: args.strings.get('nats-user'),
    tlsCa: args.strings.get('nats-tls-ca'),
    name: 'mal cost products',
  });
  return async (base, target) => {
    let dispatcher: NatsTaskDispatcher;
    try {
      dispatcher = await NatsTaskDispatcher.connect({ connection, pool });
    } catch (error) {
      throw new NatsUnavailableError(
        `NATS at ${describeServers(connection)} cannot be reached for the cost products: ${(error as Error).message}`,
      );
    }
    // Each tensor is read once, to be uploaded: nothing needs to be kept here between reads.
    const runner = new NatsCostProducts(dispatcher, new StreamedPairedTensors(base, target, 0));
    const served = await poolIsServed(dispatcher.nc, pool).catch(async (error: unknown) => {
      await dispatcher.close();
      throw error;
    });
    return {
      runner,
      description: `task workers of pool '${pool}' through NATS at ${describeServers(connection)}`,
      ...(served
        ? {}
        : {
            warning: `no 'mal worker --pool ${pool}' is serving NATS at ${describeServers(connection)} now: the products wait in the queue until one starts, and this run gives up after ${DEFAULT_TIMEOUT_MS / 60_000} min without a result`,
          }),
      close: async () => {
        await dispatcher.close();
      },
    };
  };
}
