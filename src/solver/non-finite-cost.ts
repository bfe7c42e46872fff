import { NonFiniteCostError } from './linear-assignment-errors.js';

/** The error for the first NaN or infinite entry of a row-major rows × cols matrix, or null if all are finite. */
export function firstNonFiniteCost(
  cost: Float64Array | Float32Array,
  cols: number,
): NonFiniteCostError | null {
  for (let k = 0; k < cost.length; k++) {
    const x = cost[k];
    if (!Number.isFinite(x)) return new NonFiniteCostError(Math.floor(k / cols), k % cols, x);
  }
  return null;
}
