/**
 * Cholesky factorisation and solves for symmetric positive definite matrices in float64, row-major. Small dense
 * systems only (calibration's Newton steps, RegMean's per-layer normal equations): O(n³) in plain loops.
 */

/**
 * The lower factor L of `matrix + ridge·I = L·Lᵀ`, or undefined when a pivot is not positive (the matrix is not
 * positive definite, or not enough for float64).
 */
export function choleskyFactor(matrix: Float64Array, size: number, ridge = 0): Float64Array | undefined {
  const factor = new Float64Array(size * size);
  for (let r = 0; r < size; r++) {
    for (let c = 0; c <= r; c++) {
      let s = matrix[r * size + c] + (r === c ? ridge : 0);
      for (let k = 0; k < c; k++) s -= factor[r * size + k] * factor[c * size + k];
      if (r === c) {
        if (!(s > 1e-300)) return undefined;
        factor[r * size + r] = Math.sqrt(s);
      } else {
        factor[r * size + c] = s / factor[c * size + c];
      }
    }
  }
  return factor;
}

/** Solves `L·Lᵀ·X = B` for X, with B `[size, columns]` row-major (one column: a vector). */
export function choleskySolve(
  factor: Float64Array,
  b: Float64Array,
  size: number,
  columns = 1,
): Float64Array {
  const x = Float64Array.from(b);
  for (let r = 0; r < size; r++) {
    const row = r * columns;
    for (let k = 0; k < r; k++) {
      const f = factor[r * size + k];
      if (f === 0) continue;
      for (let c = 0; c < columns; c++) x[row + c] -= f * x[k * columns + c];
    }
    const pivot = factor[r * size + r];
    for (let c = 0; c < columns; c++) x[row + c] /= pivot;
  }
  for (let r = size - 1; r >= 0; r--) {
    const row = r * columns;
    for (let k = r + 1; k < size; k++) {
      const f = factor[k * size + r];
      if (f === 0) continue;
      for (let c = 0; c < columns; c++) x[row + c] -= f * x[k * columns + c];
    }
    const pivot = factor[r * size + r];
    for (let c = 0; c < columns; c++) x[row + c] /= pivot;
  }
  return x;
}
