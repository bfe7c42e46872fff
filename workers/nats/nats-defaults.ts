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
