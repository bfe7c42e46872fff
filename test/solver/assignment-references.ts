/**
 * Independent references for the linear assignment tests: exhaustive search for small problems and a textbook
 * O(n²m) Hungarian method (potentials, e-maxx formulation) for medium ones. Neither shares code or structure
 * with the solver under test.
 */

/** Minimum total over every injection of the rows into the columns (rows ≤ cols), by exhaustive search. */
export function bruteForceMinimum(cost: ArrayLike<number>, rows: number, cols: number): number {
  if (rows > cols) return bruteForceMinimum(transpose(cost, rows, cols), cols, rows);
  const used = new Uint8Array(cols);
  let best = Number.POSITIVE_INFINITY;
  const visit = (row: number, total: number): void => {
    if (row === rows) {
      if (total < best) best = total;
      return;
    }
    for (let j = 0; j < cols; j++) {
      if (used[j]) continue;
      used[j] = 1;
      visit(row + 1, total + cost[row * cols + j]);
      used[j] = 0;
    }
  };
  visit(0, 0);
  return rows === 0 ? 0 : best;
}

/** Minimum total by the Hungarian method with potentials; rows ≤ cols required. */
export function hungarianMinimum(cost: ArrayLike<number>, rows: number, cols: number): number {
  if (rows > cols) return hungarianMinimum(transpose(cost, rows, cols), cols, rows);
  const u = new Float64Array(rows + 1);
  const v = new Float64Array(cols + 1);
  const p = new Int32Array(cols + 1);
  const way = new Int32Array(cols + 1);
  for (let i = 1; i <= rows; i++) {
    p[0] = i;
    let j0 = 0;
    const minv = new Float64Array(cols + 1).fill(Number.POSITIVE_INFINITY);
    const used = new Uint8Array(cols + 1);
    do {
      used[j0] = 1;
      const i0 = p[j0];
      let delta = Number.POSITIVE_INFINITY;
      let j1 = 0;
      for (let j = 1; j <= cols; j++) {
        if (used[j]) continue;
        const cur = cost[(i0 - 1) * cols + (j - 1)] - u[i0] - v[j];
        if (cur < minv[j]) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (let j = 0; j <= cols; j++) {
        if (used[j]) {
          u[p[j]] += delta;
          v[j] -= delta;
        } else {
          minv[j] -= delta;
        }
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0 !== 0);
  }
  let total = 0;
  for (let j = 1; j <= cols; j++) if (p[j] !== 0) total += cost[(p[j] - 1) * cols + (j - 1)];
  return total;
}

function transpose(cost: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = cost[i * cols + j];
  return out;
}
