import { readFileSync } from 'node:fs';
import { type ConnectionOptions, credsAuthenticator } from 'nats';
import { UsageError } from '../../src/errors.js';

import { DEFAULT_NATS_URL, NATS_ENV } from './nats-defaults.js';

export { DEFAULT_NATS_URL, NATS_ENV } from './nats-defaults.js';

/** Connection settings given on the command line; each overrides its environment variable. */
export interface NatsConnectionFlags {
  readonly url?: string;
  readonly creds?: string;
  readonly user?: string;
  readonly password?: string;
  readonly tlsCa?: string;
  /** Client name the server shows in its connection list. */
  readonly name?: string;
}

function pick(flag: string | undefined, env: NodeJS.ProcessEnv, key: string): string | undefined {
  if (flag !== undefined && flag !== '') return flag;
  const value = env[key];
  return value === undefined || value === '' ? undefined : value;
}

/**
 * nats.js options from flags, then MAL_NATS_* variables, then defaults. Reconnection never gives up: a worker
 * outlives restarts of the server (its JetStream store keeps the queue), so giving up would only strand tasks.
 */
export function natsConnectionOptions(
  flags: NatsConnectionFlags = {},
  env: NodeJS.ProcessEnv = process.env,
): ConnectionOptions {
  const servers = (pick(flags.url, env, NATS_ENV.url) ?? DEFAULT_NATS_URL)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const options: ConnectionOptions = {
    servers,
    name: flags.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    waitOnFirstConnect: false,
  };
  const creds = pick(flags.creds, env, NATS_ENV.creds);
  const user = pick(flags.user, env, NATS_ENV.user);
  const password = pick(flags.password, env, NATS_ENV.password);
  const tlsCa = pick(flags.tlsCa, env, NATS_ENV.tlsCa);
  if (creds !== undefined && user !== undefined) {
    throw new UsageError(
      `NATS credentials: give either a creds file (${NATS_ENV.creds} / --nats-creds) or a user and password (${NATS_ENV.user}), not both`,
    );
  }
  if (creds !== undefined) {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(creds);
    } catch (error) {
      throw new UsageError(`NATS creds file '${creds}' cannot be read: ${(error as Error).message}`);
    }
    options.authenticator = credsAuthenticator(bytes);
  }
  if (user !== undefined) {
    options.user = user;
    options.pass = password ?? '';
  } else if (password !== undefined) {
    throw new UsageError(`NATS password given without a user: set ${NATS_ENV.user} (or --nats-user) too`);
  }
  if (tlsCa !== undefined) options.tls = { caFile: tlsCa };
  return options;
}

/** The first server, for messages. */
export function describeServers(options: ConnectionOptions): string {
  const servers = options.servers;
  return Array.isArray(servers) ? servers.join(',') : (servers ?? DEFAULT_NATS_URL);
}
