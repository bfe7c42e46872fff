/**
 * Index of the first NaN or ±Inf in `data`, or -1 when every element is finite.
 *
 * Tests the exponent bits through an integer view: an all-ones exponent is exactly Inf or NaN, and the integer
 * compare measured a little faster than `x - x !== 0` on float elements.
 */
export function firstNonFinite(data: Float32Array): number {
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  for (let i = 0; i < bits.length; i++) {
    if ((bits[i] & 0x7f800000) === 0x7f800000) return i;
  }
  return -1;
}
