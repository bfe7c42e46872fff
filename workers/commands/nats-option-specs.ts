import type { OptionSpec } from '../../src/cli/command.js';
import { DEFAULT_NATS_URL, NATS_ENV } from '../nats/nats-defaults.js';

/** The NATS server option, one spec for every command that connects (`mal worker --nats-url`, `--nats`). */
export function natsUrlOptionSpec(prefix = ''): OptionSpec {
  return {
    type: 'string',
    valueName: 'url',
    description: `${prefix}NATS server(s), comma-separated (default: $${NATS_ENV.url}, else ${DEFAULT_NATS_URL})`,
  };
}

/** How a command authenticates to NATS; each flag overrides its environment variable. */
export function natsCredentialOptionSpecs(prefix = ''): Record<string, OptionSpec> {
  return {
    'nats-creds': {
      type: 'string',
      valueName: 'file',
      description: `${prefix}NATS credentials file (default: $${NATS_ENV.creds})`,
    },
    'nats-user': {
      type: 'string',
      valueName: 'user',
      description: `${prefix}NATS user (default: $${NATS_ENV.user}; password from $${NATS_ENV.password})`,
    },
    'nats-tls-ca': {
      type: 'string',
      valueName: 'file',
      description: `${prefix}CA certificate for TLS to NATS (default: $${NATS_ENV.tlsCa})`,
    },
  };
}
