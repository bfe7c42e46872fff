/**
 * Object-store blobs written and read in the object store's own layout (chunks on `$O.<bucket>.C.<nuid>`, the
 * metadata on `$O.<bucket>.M.<name>`), so `nats object get` and nats.js read them, but hashed with Node's native
 * sha256: nats.js hashes every chunk with a pure-JavaScript sha256 that runs at about 65 MB/s and made the object
 * store the slowest part of a task (a 4 MiB tensor cost 70 ms to hash each way). Blobs here are named by their own
 * content hash, which the reader checks once; the object store's digest is written for other readers.
 */
import { createHash } from 'node:crypto';
import {
  consumerOpts,
  headers,
  type JetStreamClient,
  type JetStreamManager,
  nuid,
  type ObjectStore,
} from 'nats';
import { BlobTooLargeError } from './nats-errors.js';

/** Where a blob lives: the bucket's JetStream client and object-store view, and the server's largest message. */
export interface BlobBucket {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly objects: ObjectStore;
  readonly bucket: string;
  readonly maxPayload: number;
}

/** Chunks as large as the server takes (its max_payload), up to 1 MiB: fewer messages, fewer acknowledgements. */
const MAX_CHUNK = 1024 * 1024;

/** How the object store names an object's metadata subject: base64url, padded, of the name. */
function metaSubject(bucket: string, name: string): string {
  return `$O.${bucket}.M.${Buffer.from(name).toString('base64').replace(/\+/g, '-').replace(/\//g, '_')}`;
}

/**
 * Writes `bytes` as the object `name` of `bucket` unless a live object of that name is there. Chunks are published
 * without waiting on each other; the metadata goes last, so a reader never sees a name whose chunks are missing.
 */
export async function putBlob(where: BlobBucket, name: string, bytes: Uint8Array): Promise<void> {
  const { js, objects, bucket, maxPayload } = where;
  const existing = await objects.info(name);
  if (existing !== null && !existing.deleted) return;
  // Room for the protocol's own bytes under max_payload.
  const chunk = Math.max(1024, Math.min(MAX_CHUNK, maxPayload - 1024));
  const id = nuid.next();
  const chunkSubject = `$O.${bucket}.C.${id}`;
  const writes: Promise<unknown>[] = [];
  let chunks = 0;
  for (let offset = 0; offset < bytes.byteLength; offset += chunk) {
    writes.push(js.publish(chunkSubject, bytes.subarray(offset, Math.min(offset + chunk, bytes.byteLength))));
    chunks++;
  }
  await Promise.all(writes);
  const digest = createHash('sha256').update(bytes).digest('base64').replace(/\+/g, '-').replace(/\//g, '_');
  const meta = {
    name,
    description: '',
    options: { max_chunk_size: chunk },
    bucket,
    nuid: id,
    size: bytes.byteLength,
    chunks,
    mtime: new Date().toISOString(),
    digest: `SHA-256=${digest}`,
    deleted: false,
  };
  const h = headers();
  // As the object store writes it: the newest metadata of a name replaces the older ones.
  h.set('Nats-Rollup', 'sub');
  await js.publish(metaSubject(bucket, name), new TextEncoder().encode(JSON.stringify(meta)), { headers: h });
}

/**
 * The bytes of object `name`, or null when there is none. The chunks come through an ordered consumer into one
 * buffer of the object's size; the caller checks them against the hash they are named by.
 */
export async function getBlob(
  where: BlobBucket,
  name: string,
  /** Refused before any chunk is read when the object is larger (a worker's memory bound). */
  maxBytes = Number.POSITIVE_INFINITY,
): Promise<Uint8Array | null> {
  const { js, objects, bucket } = where;
  const info = await objects.info(name);
  if (info === null || info.deleted) return null;
  if (info.size > maxBytes) throw new BlobTooLargeError(name, info.size, maxBytes);
  const out = new Uint8Array(info.size);
  if (info.size === 0) return out;
  const chunks = `$O.${bucket}.C.${info.nuid}`;
  if (info.chunks === 1) {
    // One request instead of an ordered consumer's create, deliveries and delete: most tensors are one chunk.
    const m = await where.jsm.streams.getMessage(`OBJ_${bucket}`, { last_by_subj: chunks });
    if (m.data.byteLength !== out.byteLength) {
      throw new Error(`object ${name} has ${m.data.byteLength} bytes, not its stated ${info.size}`);
    }
    out.set(m.data);
    return out;
  }
  const options = consumerOpts();
  options.orderedConsumer();
  const sub = await js.subscribe(chunks, options);
  let offset = 0;
  try {
    for await (const m of sub) {
      if (offset + m.data.byteLength > out.byteLength) {
        throw new Error(`object ${name} has more bytes than its stated ${info.size}`);
      }
      out.set(m.data, offset);
      offset += m.data.byteLength;
      if (m.info.pending === 0) break;
    }
  } finally {
    sub.unsubscribe();
  }
  if (offset !== out.byteLength) {
    throw new Error(`object ${name} ended after ${offset} of its ${info.size} bytes`);
  }
  return out;
}
