import { type KV, type NatsConnection, StorageType } from 'nats';
import { z } from 'zod';
import { sha256 } from '../../src/store/content-store.js';
import { type BlobBucket, getBlob, putBlob } from './blob-transfer.js';
import { RESULT_BLOB_BUCKET, RESULT_BUCKET } from './task-infrastructure.js';
import { TASK_KINDS } from './task-kinds.js';
import type { TaskInput, TaskOutput, TaskResultRecord } from './task-messages.js';

/** A task's recorded failure, as `mal results failures` lists it. */
export interface FailedResult {
  readonly key: string;
  readonly kind: string;
  readonly error: { readonly name: string; readonly message: string };
  readonly worker: string;
}

/** What happened to a record handed to `record`: stored, or a result already there was kept. */
export type RecordOutcome = 'stored' | 'kept';

/**
 * Outputs larger than this (or than half the server's max_payload) go to the result object store and the KV entry
 * holds their hash: a KV value is one message, bounded by max_payload (1 MB by default), and an alignment's maps of
 * a wide layer exceed it.
 */
export const INLINE_OUTPUT_BYTES = 64 * 1024;

/**
 * Task results in a JetStream KV bucket, one key per task input hash. Write-once: the first OK result of a task
 * stays. An error never replaces anything; an OK result replaces only an error (a retried task), and only at the
 * revision it read, so two writers cannot both think they won. Large outputs live in an object store, named by
 * the sha256 of their JSON, which the reader checks.
 */
export class NatsResultStore {
  private constructor(
    readonly kv: KV,
    private readonly blobs: BlobBucket,
  ) {}

  static async open(nc: NatsConnection): Promise<NatsResultStore> {
    const js = nc.jetstream();
    const jsm = await nc.jetstreamManager();
    const kv = await js.views.kv(RESULT_BUCKET, { history: 1, storage: StorageType.File });
    const objects = await js.views.os(RESULT_BLOB_BUCKET, { storage: StorageType.File });
    return new NatsResultStore(kv, {
      js,
      jsm,
      objects,
      bucket: RESULT_BLOB_BUCKET,
      maxPayload: nc.info?.max_payload ?? 1 << 20,
    });
  }

  async record(key: string, record: TaskResultRecord): Promise<RecordOutcome> {
    const bytes = new TextEncoder().encode(JSON.stringify(await this.spill(record)));
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

  /** Whether a result (or a recorded failure) is stored under `key`, without fetching a large output. */
  async has(key: string): Promise<boolean> {
    const entry = await this.kv.get(key);
    return entry !== null && entry.operation === 'PUT' && entry.value.length > 0;
  }

  async get(key: string): Promise<TaskResultRecord | undefined> {
    const entry = await this.kv.get(key);
    if (entry === null || entry.operation !== 'PUT' || entry.value.length === 0) return undefined;
    return this.read(entry.value);
  }

  /**
   * A stored value as the dispatcher reads it. It was written by a peer, so anything that is not a result record
   * (or names an output blob that is missing or not what its hash says) comes back as a failed record that says
   * so, never as an exception in the middle of a run.
   */
  async read(bytes: Uint8Array): Promise<TaskResultRecord> {
    const stored = readRecord(bytes);
    if (stored === undefined) return invalid('the stored result is not a task result record');
    if (!('outputBlob' in stored)) return stored;
    const { sha256: hash, bytes: size } = stored.outputBlob;
    let blob: Uint8Array | null;
    try {
      blob = await getBlob(this.blobs, hash);
    } catch (error) {
      return invalid(
        `its output ${hash} could not be read from the result store: ${(error as Error).message}`,
      );
    }
    if (blob === null) return invalid(`its output ${hash} is missing from the result store`);
    if (blob.byteLength !== size || sha256(blob) !== hash)
      return invalid(`its output ${hash} in the result store is not the output its record names`);
    const output = readOutput(blob);
    if (output === undefined) return invalid(`its output ${hash} is not a task output`);
    return { ok: true, kind: stored.kind, output, worker: stored.worker };
  }

  /**
   * Raw output bytes (a cost product's) in the result object store under their sha256, for outputs that JSON
   * would only bloat; the output names them. Returns the hash.
   */
  async putOutputBytes(bytes: Uint8Array): Promise<string> {
    const hash = sha256(bytes);
    await putBlob(this.blobs, hash, bytes);
    return hash;
  }

  /** Bytes stored by putOutputBytes, or null when they are gone; the caller checks them against their hash. */
  getOutputBytes(hash: string): Promise<Uint8Array | null> {
    return getBlob(this.blobs, hash);
  }

  /**
   * Removes a result that was read and will never be asked for again (a cost product: the next sweep's differ),
   * with its output bytes: an alignment of a large model would otherwise leave terabytes in the store.
   */
  async forget(key: string, outputHash?: string): Promise<void> {
    if (outputHash !== undefined) await this.blobs.objects.delete(outputHash).catch(() => undefined);
    await this.kv.delete(key);
  }

  /**
   * Every recorded failure, key by key (a failure recorded for good is read back by every later run of its task,
   * even after the cause is fixed: upgraded workers, a replaced tensor). `counted` hears each key looked at.
   * A stored value that is not a record is reported as a failure too, as `read` would return it.
   */
  async *failures(counted: (keys: number) => void = () => {}): AsyncIterable<FailedResult> {
    // The keys are listed first: nats.js's key listing ends early when each key is read while it runs.
    const listed: string[] = [];
    for await (const key of await this.kv.keys()) listed.push(key);
    let keys = 0;
    for (const key of listed) {
      counted(++keys);
      const entry = await this.kv.get(key);
      if (entry === null || entry.operation !== 'PUT' || entry.value.length === 0) continue;
      const stored = readRecord(entry.value) ?? invalid('the stored result is not a task result record');
      if (!stored.ok) yield { key, kind: stored.kind, error: stored.error, worker: stored.worker };
    }
  }

  /** The record as stored: a large output moved to the object store, the record naming it by hash. */
  private async spill(record: TaskResultRecord): Promise<StoredRecord> {
    if (!record.ok) return record;
    const output = new TextEncoder().encode(JSON.stringify(record.output));
    // Half the server's max_payload leaves room for the record around the output on a server set lower.
    if (output.byteLength <= Math.min(INLINE_OUTPUT_BYTES, this.blobs.maxPayload / 2)) return record;
    const hash = sha256(output);
    await putBlob(this.blobs, hash, output);
    return {
      ok: true,
      kind: record.kind,
      outputBlob: { sha256: hash, bytes: output.byteLength },
      worker: record.worker,
    };
  }
}

function invalid(message: string): TaskResultRecord {
  return { ok: false, kind: 'unknown', error: { name: 'InvalidResultError', message }, worker: 'unknown' };
}

function isWrongLastSequence(error: unknown): boolean {
  const e = error as { api_error?: { err_code?: number }; message?: string } | null;
  return e?.api_error?.err_code === 10071 || String(e?.message ?? '').includes('wrong last sequence');
}

const evaluateOutputSchema = z.strictObject({
  loss: z.number(),
  accuracy: z.number(),
  count: z.number().int().min(0),
});

const outputSchema = z.union([
  evaluateOutputSchema,
  // The maps are checked as a maps file when used (alignedCandidateOf); here only their outer shape.
  z.strictObject({
    spaces: z.record(z.string(), z.unknown()),
    preScore: z.number(),
    mapHashes: z.record(z.string(), z.string()),
  }),
  z.strictObject({ elements: z.number().int().min(0) }),
  z.strictObject({ points: z.array(evaluateOutputSchema) }),
  // A study cell's row is checked against its cell's address when read (decodeStudyRow).
  z.strictObject({ studyRow: z.string().max(16 * 1024 * 1024) }),
  // A cost product's bytes are checked against its shape (and a blob against its hash) when read.
  z.strictObject({
    rows: z.number().int().min(1),
    cols: z.number().int().min(1),
    dtype: z.enum(['F32', 'F64']),
    base64: z.string().optional(),
    blob: z
      .strictObject({ sha256: z.string().regex(/^[0-9a-f]{64}$/), bytes: z.number().int().min(0) })
      .optional(),
  }),
]);

const kindSchema = z.enum(TASK_KINDS);

const recordSchema = z.union([
  z.strictObject({ ok: z.literal(true), kind: kindSchema, output: outputSchema, worker: z.string() }),
  z.strictObject({
    ok: z.literal(true),
    kind: kindSchema,
    outputBlob: z.strictObject({
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
      bytes: z.number().int().min(0),
    }),
    worker: z.string(),
  }),
  z.strictObject({
    ok: z.literal(false),
    kind: z.union([kindSchema, z.literal('unknown')]),
    error: z.strictObject({ name: z.string(), message: z.string() }),
    worker: z.string(),
  }),
]);

/** A record as the KV bucket holds it: the output inline, or named by the hash of its JSON in the object store. */
type StoredRecord =
  | TaskResultRecord
  | {
      readonly ok: true;
      readonly kind: TaskInput['kind'];
      readonly outputBlob: { readonly sha256: string; readonly bytes: number };
      readonly worker: string;
    };

function readRecord(bytes: Uint8Array): StoredRecord | undefined {
  try {
    const result = recordSchema.safeParse(JSON.parse(new TextDecoder().decode(bytes)));
    return result.success ? (result.data as StoredRecord) : undefined;
  } catch {
    return undefined;
  }
}

function readOutput(bytes: Uint8Array): TaskOutput | undefined {
  try {
    const result = outputSchema.safeParse(JSON.parse(new TextDecoder().decode(bytes)));
    return result.success ? (result.data as TaskOutput) : undefined;
  } catch {
    return undefined;
  }
}
