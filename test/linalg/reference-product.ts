import { SeededRandom } from '../../src/random/seeded-random.js';

/** `A·Bᵀ` by a plain float64 triple loop, with `Σₖ|aᵢₖ·bⱼₖ|` per entry to scale rounding tolerances. */
export function referenceProduct(
  a: Float32Array,
  b: Float32Array,
  rows: number,
  cols: number,
  depth: number,
): { product: Float64Array; magnitude: Float64Array } {
  const product = new Float64Array(rows * cols);
  const magnitude = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      let s = 0;
      let m = 0;
      for (let k = 0; k < depth; k++) {
        const p = a[i * depth + k] * b[j * depth + k];
        s += p;
        m += Math.abs(p);
      }
      product[i * cols + j] = s;
      magnitude[i * cols + j] = m;
    }
  }
  return { product, magnitude };
}

/**
 * `m` read as a row-major depth × n operand of `Aᵀ·B`, returned as the n × depth operand of the same product
 * written `A·Bᵀ`, so that referenceProduct checks `Aᵀ·B` too. A plain loop, independent of the engines' transpose.
 */
export function operandsOfTransposedA(m: Float32Array, n: number, depth: number): Float32Array {
  const out = new Float32Array(m.length);
  for (let k = 0; k < depth; k++) for (let i = 0; i < n; i++) out[i * depth + k] = m[k * n + i];
  return out;
}

export function randomFloat32(length: number, random: SeededRandom): Float32Array {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = random.next() * 2 - 1;
  return out;
}

/**
 * The largest `|c − reference| / bound` over all entries, where `bound = (depth + 2) · unitRoundoff · Σ|a·b|`
 * is the classical worst-case error of a dot product summed in that precision; at most 1 means within bound.
 */
export function worstErrorOverBound(
  c: ArrayLike<number>,
  reference: { product: Float64Array; magnitude: Float64Array },
  depth: number,
  unitRoundoff: number,
): number {
  let worst = 0;
  for (let i = 0; i < reference.product.length; i++) {
    const bound = (depth + 2) * unitRoundoff * reference.magnitude[i] + Number.MIN_VALUE;
    worst = Math.max(worst, Math.abs(c[i] - reference.product[i]) / bound);
  }
  return worst;
}

export const FLOAT32_UNIT_ROUNDOFF = 2 ** -24;
export const FLOAT64_UNIT_ROUNDOFF = 2 ** -53;

export { SeededRandom };
