import type { OptionSpec } from '../../src/cli/command.js';
import { natsCredentialOptionSpecs, natsUrlOptionSpec } from './nats-option-specs.js';

/** The pool `mal align --nats` and `mal merge --nats` send their products to when --pool is not given. */
export const DEFAULT_PRODUCTS_POOL = 'cpu';

/** The options `mal align` and `mal merge` gain in the full program: where the cost products run. */
export const natsProductsOptionSpecs: Record<string, OptionSpec> = {
  nats: {
    ...natsUrlOptionSpec(),
    description:
      "send weight matching's cost-matrix products to the task workers (`mal worker`) through the NATS server(s) at url, comma-separated; the solver and the outputs stay here",
  },
  pool: {
    type: 'string',
    valueName: 'name',
    description: `with --nats: the task-worker pool that computes the products (default ${DEFAULT_PRODUCTS_POOL})`,
  },
  ...natsCredentialOptionSpecs('with --nats: '),
};

/** Options that mean something only with --nats. */
export const NATS_ONLY_OPTIONS = ['pool', 'nats-creds', 'nats-user', 'nats-tls-ca'] as const;
