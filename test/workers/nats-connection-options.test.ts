import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { DEFAULT_NATS_URL, natsConnectionOptions } from '../../workers/nats/connection-options.js';

describe('NATS connection settings', () => {
  it('defaults to the local server and never stops reconnecting', () => {
    const options = natsConnectionOptions({}, {});
    expect(options.servers).toEqual([DEFAULT_NATS_URL]);
    expect(options.maxReconnectAttempts).toBe(-1);
  });

  it('takes flags over environment variables', () => {
    const env = {
      MAL_NATS_URL: 'nats://a:1,nats://b:2',
      MAL_NATS_USER: 'u',
      MAL_NATS_PASSWORD: 'p',
      MAL_NATS_TLS_CA: '/ca.pem',
    };
    expect(natsConnectionOptions({}, env)).toMatchObject({
      servers: ['nats://a:1', 'nats://b:2'],
      user: 'u',
      pass: 'p',
      tls: { caFile: '/ca.pem' },
    });
    expect(natsConnectionOptions({ url: 'nats://c:3', user: 'v' }, env)).toMatchObject({
      servers: ['nats://c:3'],
      user: 'v',
    });
  });

  it('refuses a password without a user, two kinds of credentials, and an unreadable creds file', () => {
    expect(() => natsConnectionOptions({}, { MAL_NATS_PASSWORD: 'p' })).toThrow(UsageError);
    expect(() => natsConnectionOptions({ creds: '/nonexistent.creds' }, { MAL_NATS_USER: 'u' })).toThrow(
      /not both/,
    );
    expect(() => natsConnectionOptions({ creds: '/nonexistent.creds' }, {})).toThrow(/cannot be read/);
  });
});
