import { createHash } from 'node:crypto';
import type { DType } from '../tensor/dtype.js';

/** Names the prefix's format, so that a later change to it cannot give an old address to other content. */
const PREFIX_VERSION = 'mal.tensor.v1';

/**
 * The prefix hashed before a tensor's bytes: `mal.tensor.v1 <dtype> [<d0>,<d1>,…]` and a line feed, in ASCII
 * (`mal.tensor.v1 F32 [2,3]\n`; a scalar's shape is `[]`).
 */
export function tensorAddressPrefix(dtype: DType, shape: readonly number[]): string {
  return `${PREFIX_VERSION} ${dtype} [${shape.join(',')}]\n`;
}

/**
 * A tensor's content address: the hex sha256 of tensorAddressPrefix(dtype, shape) followed by its raw
 * little-endian bytes (as safetensors stores them; BOOL as one byte 0 or 1 an element, any non-zero byte read as 1). It depends on what the
 * tensor is, not on how it travelled: the Arrow layout, metadata order, record batches, compression or
 * endianness of the message it came in leave it unchanged, so equal tensors from any producer share one address.
 */
export function tensorContentAddress(dtype: DType, shape: readonly number[], bytes: Uint8Array): string {
  // safetensors keeps any byte a producer wrote for a BOOL, Arrow's readers give 0 or 1: hash what it means.
  const content = dtype === 'BOOL' && bytes.some((b) => b > 1) ? bytes.map((b) => (b === 0 ? 0 : 1)) : bytes;
  return createHash('sha256')
    .update(tensorAddressPrefix(dtype, shape), 'ascii')
    .update(content)
    .digest('hex');
}
