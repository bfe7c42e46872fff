/**
 * How an occurrence's index arrays and its product travel: as their little-endian bytes (base64 inline when
 * small, a content-addressed blob when not), never as JSON number lists, which would be several times larger and
 * slow to parse for a 7B model's 11008-entry arrays and 485 MB products.
 */
import type { OccurrenceProductTask } from '../../src/align/occurrence-product.js';
import { sha256 } from '../../src/store/content-store.js';
import { BadTaskError, CostProductResultError } from './nats-errors.js';
import type { CostProductOutput, IndexArrayInput, OccurrenceInput } from './task-messages.js';

/** Index arrays up to this many bytes ride in the task message; larger ones go to the tensor object store. */
export const INLINE_INDEX_BYTES = 16 * 1024;
/** Products up to this many bytes ride in the result record; larger ones go to the result object store. */
export const INLINE_PRODUCT_BYTES = 32 * 1024;

/** The bytes of a typed array as they lie in memory (little-endian on every platform Node runs on). */
export function bytesOf(array: Int32Array | Float32Array | Float64Array): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

/**
 * An occurrence for the wire. `putBlob` stores a large index array's bytes and returns their sha256; it is called
 * only for arrays over INLINE_INDEX_BYTES.
 */
export async function encodeOccurrence(
  task: OccurrenceProductTask,
  putBlob: (bytes: Uint8Array) => Promise<string>,
): Promise<OccurrenceInput> {
  const targetIndices = await Promise.all(
    task.targetIndices.map(async (indices): Promise<IndexArrayInput> => {
      const bytes = bytesOf(indices);
      return bytes.byteLength <= INLINE_INDEX_BYTES
        ? { length: indices.length, base64: Buffer.from(bytes).toString('base64') }
        : { length: indices.length, blob: await putBlob(bytes) };
    }),
  );
  return {
    key: task.key,
    baseName: task.baseName,
    targetName: task.targetName,
    axis: task.axis,
    baseOffset: task.baseOffset,
    baseLength: task.baseLength,
    targetIndices,
    rows: task.rows,
    cols: task.cols,
    wholeMatrix: task.wholeMatrix,
  };
}

/**
 * The occurrence a message carries, its index arrays decoded; `getBlob` fetches a blob's bytes by hash, which
 * are checked against it here. `where` names the task in errors.
 */
export async function decodeOccurrence(
  input: OccurrenceInput,
  getBlob: (hash: string) => Promise<Uint8Array>,
  where: string,
): Promise<OccurrenceProductTask> {
  const targetIndices = await Promise.all(
    input.targetIndices.map(async (encoded, axis) => {
      let bytes: Uint8Array;
      if ('blob' in encoded) {
        bytes = await getBlob(encoded.blob);
        if (sha256(bytes) !== encoded.blob)
          throw new BadTaskError(`${where}: index array ${encoded.blob} does not hash to its name`);
      } else {
        bytes = Buffer.from(encoded.base64, 'base64');
      }
      if (bytes.byteLength !== encoded.length * Int32Array.BYTES_PER_ELEMENT)
        throw new BadTaskError(
          `${where}: target index array of axis ${axis} has ${bytes.byteLength} bytes, not the ${encoded.length} int32 its length says`,
        );
      return new Int32Array(copyOf(bytes).buffer, 0, encoded.length);
    }),
  );
  return { ...input, targetIndices };
}

/** A product for the result record. `putBlob` stores bytes over INLINE_PRODUCT_BYTES and returns their sha256. */
export async function encodeProduct(
  product: Float32Array | Float64Array,
  rows: number,
  cols: number,
  putBlob: (bytes: Uint8Array) => Promise<string>,
): Promise<CostProductOutput> {
  const dtype = product instanceof Float64Array ? 'F64' : 'F32';
  const bytes = bytesOf(product);
  if (bytes.byteLength <= INLINE_PRODUCT_BYTES)
    return { rows, cols, dtype, base64: Buffer.from(bytes).toString('base64') };
  return { rows, cols, dtype, blob: { sha256: await putBlob(bytes), bytes: bytes.byteLength } };
}

/**
 * The product a result holds, checked against the shape the task asked for (and a blob against its hash).
 * `getBlob` returns a blob's bytes or null when it is gone.
 */
export async function decodeProduct(
  output: CostProductOutput,
  rows: number,
  cols: number,
  getBlob: (hash: string) => Promise<Uint8Array | null>,
  where: string,
): Promise<Float32Array | Float64Array> {
  if (output.rows !== rows || output.cols !== cols)
    throw new CostProductResultError(
      `${where}: the worker returned a ${output.rows}×${output.cols} product, not the ${rows}×${cols} asked for`,
    );
  let bytes: Uint8Array;
  if (output.blob !== undefined) {
    const blob = await getBlob(output.blob.sha256);
    if (blob === null)
      throw new CostProductResultError(
        `${where}: its product ${output.blob.sha256} is missing from the result store`,
      );
    if (sha256(blob) !== output.blob.sha256)
      throw new CostProductResultError(
        `${where}: its product ${output.blob.sha256} does not hash to its name`,
      );
    bytes = blob;
  } else if (output.base64 !== undefined) {
    bytes = Buffer.from(output.base64, 'base64');
  } else {
    throw new CostProductResultError(`${where}: the result holds no product`);
  }
  const width = output.dtype === 'F64' ? Float64Array.BYTES_PER_ELEMENT : Float32Array.BYTES_PER_ELEMENT;
  if (bytes.byteLength !== rows * cols * width)
    throw new CostProductResultError(
      `${where}: its product has ${bytes.byteLength} bytes, not ${rows}×${cols} ${output.dtype} values`,
    );
  const copy = copyOf(bytes).buffer;
  return output.dtype === 'F64' ? new Float64Array(copy) : new Float32Array(copy);
}

/**
 * The bytes in a buffer of their own: aligned for a typed array, and free of the message (or of Node's shared
 * Buffer pool, which a decoded base64 string lives in: Buffer's slice is a view, not a copy).
 */
function copyOf(bytes: Uint8Array): Uint8Array {
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return copy;
}
