import { type JetStreamClient, type KV, StorageType } from 'nats';
import { z } from 'zod';
import { RESULT_BUCKET } from './task-infrastructure.js';
import type { TaskResultRecord } from './task-messages.js';

/** What happened to a record handed to `record`: stored, or a result already there was kept. */
export type RecordOutcome = 'stored' | 'kept';

/**
 * Task results in a JetStream KV bucket, one key per task input hash. Write-once: the first OK result of a task
 * stays. An error never replaces anything; an OK result replaces only an error (a retried task), and only at the
 * revision it read, so two writers cannot both think they won.
 */
export class NatsResultStore {
  private constructor(readonly kv: KV) {}

  static async open(js: JetStreamClient): Promise<NatsResultStore> {
    return new NatsResultStore(await js.views.kv(RESULT_BUCKET, { history: 1, storage: StorageType.File }));
  }

  async record(key: string, record: TaskResultRecord): Promise<RecordOutcome> {
    const bytes = new TextEncoder().encode(JSON.stringify(record));
    for (;;) {
      try {
        // Creates, or writes over a deleted key; refused (10071) when a value is there.
        await this.kv.create(key, bytes);
        return 'stored';
      } catch (error) {
        if (!isWrongLastSequence(error)) throw error;
      }
      const entry = await this.kv.get(key);
      if (entry === null || entry.operation !== 'PUT') continue;
      const existing = readRecord(entry.value);
      if (!record.ok || existing?.ok === true) return 'kept';
      try {
        await this.kv.update(key, bytes, entry.revision);
        return 'stored';
      } catch (error) {
        // Someone wrote in between: read again and decide again.
        if (!isWrongLastSequence(error)) throw error;
      }
    }
  }

  async get(key: string): Promise<TaskResultRecord | undefined> {
    const entry = await this.kv.get(key);
    if (entry === null || entry.operation !== 'PUT' || entry.value.length === 0) return undefined;
    return parseRecord(entry.value);
  }
}

function isWrongLastSequence(error: unknown): boolean {
  const e = error as { api_error?: { err_code?: number }; message?: string } | null;
  return e?.api_error?.err_code === 10071 || String(e?.message ?? '').includes('wrong last sequence');
}

const outputSchema = z.union([
  z.strictObject({ loss: z.number(), accuracy: z.number(), count: z.number().int().min(0) }),
  // The maps are checked as a maps file when used (alignedCandidateOf); here only their outer shape.
  z.strictObject({
    spaces: z.record(z.string(), z.unknown()),
    preScore: z.number(),
    mapHashes: z.record(z.string(), z.string()),
  }),
  z.strictObject({ elements: z.number().int().min(0) }),
  // A study cell's row is checked against its cell's address when read (decodeStudyRow).
  z.strictObject({ studyRow: z.string().max(16 * 1024 * 1024) }),
]);

const kindSchema = z.enum(['evaluate', 'align', 'noop', 'study-cell']);

const recordSchema = z.union([
  z.strictObject({ ok: z.literal(true), kind: kindSchema, output: outputSchema, worker: z.string() }),
  z.strictObject({
    ok: z.literal(false),
    kind: z.union([kindSchema, z.literal('unknown')]),
    error: z.strictObject({ name: z.string(), message: z.string() }),
    worker: z.string(),
  }),
]);

function readRecord(bytes: Uint8Array): TaskResultRecord | undefined {
  try {
    const result = recordSchema.safeParse(JSON.parse(new TextDecoder().decode(bytes)));
    return result.success ? (result.data as TaskResultRecord) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A stored result as the dispatcher reads it. It was written by a peer, so anything that is not a result record
 * comes back as a failed one that says so, never as an exception in the middle of a run.
 */
export function parseRecord(bytes: Uint8Array): TaskResultRecord {
  return (
    readRecord(bytes) ?? {
      ok: false,
      kind: 'unknown',
      error: { name: 'InvalidResultError', message: 'the stored result is not a task result record' },
      worker: 'unknown',
    }
  );
}
