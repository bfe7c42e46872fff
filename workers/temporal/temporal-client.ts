import { Client, Connection } from '@temporalio/client';
import { type TemporalSettings, TemporalUnavailableError } from './temporal-settings.js';

/** A connected client, or a TemporalUnavailableError that says where it looked. */
export async function connectTemporalClient(
  settings: TemporalSettings,
): Promise<{ client: Client; close(): Promise<void> }> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ address: settings.address, connectTimeout: '5 s' });
    await connection.ensureConnected();
  } catch (error) {
    throw new TemporalUnavailableError(settings, error);
  }
  return {
    client: new Client({ connection, namespace: settings.namespace }),
    close: () => connection.close(),
  };
}
