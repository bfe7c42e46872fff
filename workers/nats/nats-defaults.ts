/**
 * Defaults and environment variable names of the NATS commands, apart from the modules that import `nats` so
 * that the command line's help reads them without loading it.
 */

/** Where a worker or a dispatcher finds NATS when neither a flag nor the environment says. */
export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';

/** The environment variables read, with what each sets; the command's help text lists the same. */
export const NATS_ENV = {
  url: 'MAL_NATS_URL',
  creds: 'MAL_NATS_CREDS',
  user: 'MAL_NATS_USER',
  password: 'MAL_NATS_PASSWORD',
  tlsCa: 'MAL_NATS_TLS_CA',
} as const;

export const DEFAULT_ACK_WAIT_MS = 30_000;
/** Enough for a worker death or two and a server restart; the last delivery records its failure as the result. */
export const DEFAULT_MAX_DELIVER = 5;

/**
 * How long one task may run on a worker, by kind, before its thread is ended and the task failed for good. An
 * evaluation of a large model on a full test set takes minutes; an alignment of wide layers with many sweeps tens
 * of minutes; a no-op reads tensors only. `mal worker --task-deadline-s` sets one limit for every kind.
 */
export const DEFAULT_TASK_DEADLINE_MS = {
  evaluate: 20 * 60_000,
  align: 60 * 60_000,
  noop: 60_000,
  'study-cell': 60 * 60_000,
  curve: 20 * 60_000,
  // One product of a 7B-shaped layer (11008² over 4096) is a teraflop: seconds on a GPU, minutes on CPU cores.
  'cost-product': 20 * 60_000,
} as const;

/** After SIGTERM, how long running tasks may take to finish before they are abandoned to redelivery. */
export const DEFAULT_STOP_GRACE_MS = 10_000;

/** What a worker keeps of loaded data sets (and, apart, of statistics examples) between tasks. */
export const DEFAULT_DATA_CACHE_BYTES = 1024 * 1024 * 1024;
