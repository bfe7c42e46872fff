import { InvalidFileError } from '../errors.js';
import {
  encodeSafetensorsHeader,
  LENGTH_PREFIX_BYTES,
  parseSafetensorsHeader,
  readHeaderLength,
} from '../io/safetensors-header.js';
import type { FloatTensor } from '../tensor/tensor.js';

/**
 * The assembly state (the model being improved) as safetensors bytes, float32, tensors in the base's order:
 * its sha256 names the state, and the same bytes are what the store keeps and the output folder receives.
 */
export function encodeState(
  order: readonly string[],
  tensors: ReadonlyMap<string, FloatTensor>,
  metadata?: Readonly<Record<string, string>>,
): Uint8Array {
  let offset = 0;
  const entries = order.map((name) => {
    const t = tensors.get(name);
    if (t === undefined) throw new RangeError(`encodeState: no tensor '${name}'`);
    const begin = offset;
    offset += t.data.byteLength;
    return { name, dtype: 'F32' as const, shape: [...t.shape], begin, end: offset };
  });
  const header = encodeSafetensorsHeader(entries, metadata);
  const out = new Uint8Array(header.length + offset);
  out.set(header, 0);
  for (const e of entries) {
    const t = tensors.get(e.name)!;
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), header.length + e.begin);
  }
  return out;
}

export function decodeState(bytes: Uint8Array, source: string): Map<string, FloatTensor> {
  const declared =
    bytes.length < LENGTH_PREFIX_BYTES ? undefined : readHeaderLength(bytes.subarray(0, LENGTH_PREFIX_BYTES));
  if (declared === undefined || declared > BigInt(bytes.length - LENGTH_PREFIX_BYTES)) {
    throw new InvalidFileError(
      source,
      `model state of ${bytes.length} bytes is cut short: it cannot hold its ${declared ?? 'length-prefixed'} header`,
    );
  }
  const start = LENGTH_PREFIX_BYTES + Number(declared);
  const header = parseSafetensorsHeader(
    source,
    bytes.subarray(LENGTH_PREFIX_BYTES, start),
    bytes.length - start,
  );
  const out = new Map<string, FloatTensor>();
  for (const e of header.entries) {
    // Copy into a buffer of its own: the tensor must be 4-byte aligned, and a Buffer's slice() is only a view.
    const copy = new Uint8Array(e.end - e.begin);
    copy.set(bytes.subarray(start + e.begin, start + e.end));
    const data = new Float32Array(copy.buffer);
    out.set(e.name, { shape: e.shape, data });
  }
  return out;
}
