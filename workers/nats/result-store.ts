import { type JetStreamClient, type KV, StorageType } from 'nats';
import { RESULT_BUCKET } from './task-infrastructure.js';
import type { TaskResultRecord } from './task-messages.js';

/** Task results in a JetStream KV bucket, one key per task input hash; writing one twice is harmless. */
export class NatsResultStore {
  private constructor(readonly kv: KV) {}

  static async open(js: JetStreamClient): Promise<NatsResultStore> {
    return new NatsResultStore(await js.views.kv(RESULT_BUCKET, { history: 1, storage: StorageType.File }));
  }

  async put(key: string, record: TaskResultRecord): Promise<void> {
    await this.kv.put(key, new TextEncoder().encode(JSON.stringify(record)));
  }

  async get(key: string): Promise<TaskResultRecord | undefined> {
    const entry = await this.kv.get(key);
    if (entry === null || entry.operation !== 'PUT' || entry.value.length === 0) return undefined;
    return parseRecord(entry.value);
  }
}

export function parseRecord(bytes: Uint8Array): TaskResultRecord {
  return JSON.parse(new TextDecoder().decode(bytes)) as TaskResultRecord;
}
