import { type NatsConnection, type ObjectStore, StorageType } from 'nats';
import { tensorFromArrowIPC, tensorToArrowIPC } from '../../src/io/arrow-tensor.js';
import { tensorContentAddress } from '../../src/io/tensor-content-address.js';
import { sha256 } from '../../src/store/content-store.js';
import type { FloatTensor } from '../../src/tensor/tensor.js';
import { type BlobBucket, getBlob, putBlob } from './blob-transfer.js';
import { BlobTooLargeError, CorruptTensorError, MissingTensorError } from './nats-errors.js';
import { TENSOR_BUCKET } from './task-infrastructure.js';

/**
 * The name every tensor carries inside its Arrow message. Tasks name tensors themselves, so keeping the name out
 * of the bytes makes equal tensors of different layers or models one blob.
 */
const BLOB_TENSOR_NAME = 'tensor';

/** Bytes beyond its data a fetched message may keep alive when a tensor is read in place. */
const MESSAGE_OVERHEAD_KEPT = 4096;

/** Bytes an Arrow message of one tensor adds to its data: schema, shape, padding (a few hundred in practice). */
const ARROW_METADATA_ALLOWANCE = 64 * 1024;

export function encodeTensor(tensor: FloatTensor): Uint8Array {
  const { data } = tensor;
  return tensorToArrowIPC(BLOB_TENSOR_NAME, {
    dtype: 'F32',
    shape: tensor.shape,
    bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  });
}

/** The name a tensor is stored under: its content address, whatever Arrow layout its message has. */
export function tensorKey(tensor: FloatTensor): string {
  const { data } = tensor;
  return tensorContentAddress(
    'F32',
    tensor.shape,
    new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  );
}

/** Decodes a blob fetched under `hash`, checking that it is what the hash names. */
export function decodeTensor(hash: string, bytes: Uint8Array): FloatTensor {
  let decoded: ReturnType<typeof tensorFromArrowIPC>;
  try {
    decoded = tensorFromArrowIPC(bytes, `tensor ${hash}`);
  } catch (error) {
    throw new CorruptTensorError(hash, (error as Error).message);
  }
  const { dtype, shape, bytes: content } = decoded.tensor;
  if (tensorContentAddress(dtype, shape, content) !== hash) {
    throw new CorruptTensorError(hash, 'its content does not hash to its name');
  }
  if (decoded.tensor.dtype !== 'F32') {
    throw new CorruptTensorError(hash, `dtype ${decoded.tensor.dtype}, expected F32`);
  }
  // Arrow aligns its buffers, so the data is usually a view the floats can be read through in place; the message
  // around it is a few hundred bytes more. A view at an odd offset is copied, and so is one in a buffer much larger
  // than itself (padding a peer added), which a cache that counts the data's bytes would keep unseen.
  const view = decoded.tensor.bytes;
  const inPlace =
    view.byteOffset % 4 === 0 && view.buffer.byteLength - view.byteLength <= MESSAGE_OVERHEAD_KEPT;
  const data = inPlace ? view : view.slice();
  return {
    shape: decoded.tensor.shape,
    data: new Float32Array(data.buffer, data.byteOffset, data.byteLength / 4),
  };
}

/** Tensors in the JetStream object store as Arrow IPC blobs named by their content address. */
export class NatsTensorStore {
  private readonly known = new Set<string>();
  /** Uploads under way by hash: equal tensors asked for at once (two tasks on one text) go up once. */
  private readonly uploading = new Map<string, Promise<string>>();

  private constructor(readonly bucket: BlobBucket) {}

  static async open(nc: NatsConnection): Promise<NatsTensorStore> {
    const js = nc.jetstream();
    const jsm = await nc.jetstreamManager();
    const objects = await js.views.os(TENSOR_BUCKET, { storage: StorageType.File });
    return new NatsTensorStore({
      js,
      jsm,
      objects,
      bucket: TENSOR_BUCKET,
      maxPayload: nc.info?.max_payload ?? 1 << 20,
    });
  }

  /** The object-store view of the bucket, for tools and tests that read or write it as any client would. */
  get objects(): ObjectStore {
    return this.bucket.objects;
  }

  /** Stores bytes under `hash` (by default their sha256) unless a blob of that name is there; returns the hash. */
  putBytes(bytes: Uint8Array, hash = sha256(bytes)): Promise<string> {
    return this.putOnce(hash, () => bytes);
  }

  async getBytes(hash: string, maxBytes?: number): Promise<Uint8Array> {
    const bytes = await getBlob(this.bucket, hash, maxBytes);
    if (bytes === null) throw new MissingTensorError(hash);
    return bytes;
  }

  putTensor(tensor: FloatTensor): Promise<string> {
    return this.putOnce(tensorKey(tensor), () => encodeTensor(tensor));
  }

  /** Encodes and uploads only when no blob of that name is known or on its way up. */
  private async putOnce(hash: string, encode: () => Uint8Array): Promise<string> {
    if (this.known.has(hash)) return hash;
    const inFlight = this.uploading.get(hash);
    if (inFlight !== undefined) return inFlight;
    const upload = (async () => {
      try {
        await putBlob(this.bucket, hash, encode());
        this.known.add(hash);
        return hash;
      } finally {
        this.uploading.delete(hash);
      }
    })();
    this.uploading.set(hash, upload);
    return upload;
  }

  /** `maxBytes` bounds the tensor's data; its Arrow message may be that much plus its metadata. */
  async getTensor(hash: string, maxBytes?: number): Promise<FloatTensor> {
    if (maxBytes === undefined) return decodeTensor(hash, await this.getBytes(hash));
    try {
      return decodeTensor(hash, await this.getBytes(hash, maxBytes + ARROW_METADATA_ALLOWANCE));
    } catch (error) {
      // Said against the bound the caller gave, not the allowance added to it.
      if (error instanceof BlobTooLargeError) throw new BlobTooLargeError(hash, error.size, maxBytes);
      throw error;
    }
  }
}
