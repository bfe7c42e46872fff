/**
 * `C = A·Bᵀ` for row-major `A` (rows × depth) and `B` (cols × depth), accumulated in float64: the product that
 * builds alignment cost matrices (each entry is the inner product of a base unit's weights with a target unit's).
 * Rows of both operands are read contiguously; a 2×2 register tile halves the loads per multiply-add.
 */
export function matmulTransposed(
  a: Float32Array,
  b: Float32Array,
  rows: number,
  cols: number,
  depth: number,
  accumulate?: Float64Array,
): Float64Array {
  const c = accumulate ?? new Float64Array(rows * cols);
  if (c.length !== rows * cols) throw new RangeError('matmulTransposed: accumulator has the wrong size');
  let i = 0;
  for (; i + 1 < rows; i += 2) {
    const a0 = i * depth;
    const a1 = a0 + depth;
    let j = 0;
    for (; j + 1 < cols; j += 2) {
      const b0 = j * depth;
      const b1 = b0 + depth;
      let s00 = 0;
      let s01 = 0;
      let s10 = 0;
      let s11 = 0;
      for (let k = 0; k < depth; k++) {
        const x0 = a[a0 + k];
        const x1 = a[a1 + k];
        const y0 = b[b0 + k];
        const y1 = b[b1 + k];
        s00 += x0 * y0;
        s01 += x0 * y1;
        s10 += x1 * y0;
        s11 += x1 * y1;
      }
      c[i * cols + j] += s00;
      c[i * cols + j + 1] += s01;
      c[(i + 1) * cols + j] += s10;
      c[(i + 1) * cols + j + 1] += s11;
    }
    if (j < cols) {
      c[i * cols + j] += dot(a, a0, b, j * depth, depth);
      c[(i + 1) * cols + j] += dot(a, a1, b, j * depth, depth);
    }
  }
  if (i < rows) {
    for (let j = 0; j < cols; j++) c[i * cols + j] += dot(a, i * depth, b, j * depth, depth);
  }
  return c;
}

function dot(a: Float32Array, ao: number, b: Float32Array, bo: number, n: number): number {
  let s = 0;
  for (let k = 0; k < n; k++) s += a[ao + k] * b[bo + k];
  return s;
}

/** Frobenius inner product `⟨x, y⟩`, in float64. */
export function innerProduct(x: Float32Array, y: Float32Array): number {
  if (x.length !== y.length) throw new RangeError('innerProduct: lengths differ');
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * y[i];
  return s;
}
