import type { CostArray } from './cost-array.js';

/** Row scans the augmenting row reduction may spend, per row of the problem (tuning: see lap.as.ts). */
const ARR_SCANS_PER_ROW = 4;

/**
 * What the solver kernels report: the assignment, or that a cost is NaN or infinite, or that the dual
 * arithmetic overflowed (finite costs too close to ±Number.MAX_VALUE).
 */
export type KernelResult = Int32Array | 'non-finite' | 'overflow';

/**
 * Pure TypeScript twin of the WebAssembly kernel (src/solver/lap.as.ts), used when WebAssembly is unavailable.
 * Both perform the same f64 operations in the same order, so they return identical assignments.
 *
 * Algorithm: LAPJV-style initialisation (column reduction and reduction transfer for square problems, a
 * bounded augmenting row reduction for all), then Crouse's shortest augmenting path (scipy's algorithm) for
 * the rows still free. rows > cols is solved on the transposed matrix.
 */
export function solveLinearAssignmentTypeScript(
  cost: CostArray,
  rows: number,
  cols: number,
  maximize: boolean,
): KernelResult {
  const transposed = rows > cols;
  const nr = transposed ? cols : rows;
  const nc = transposed ? rows : cols;
  const c = maximize || transposed ? orientedCopy(cost, rows, cols, maximize, transposed) : cost;
  const state = new SolverState(c, nr, nc);
  if (nr > 0) {
    const finite = nr === nc ? state.columnReduction() : state.zeroDualsCheckingFinite();
    if (!finite) return 'non-finite';
    let numFree = 0;
    for (let i = 0; i < nr; i++) if (state.col4row[i] < 0) state.free[numFree++] = i;
    numFree = state.augmentingRowReduction(numFree);
    if (!state.shortestAugmentingPaths(numFree)) return 'overflow';
  }
  const out = new Int32Array(rows);
  out.set(transposed ? state.row4col.subarray(0, rows) : state.col4row.subarray(0, rows));
  return out;
}

/** The nr × nc problem matrix: negated to maximise, transposed so that rows ≤ cols; same element type. */
function orientedCopy(
  cost: CostArray,
  rows: number,
  cols: number,
  maximize: boolean,
  transposed: boolean,
): CostArray {
  const out = cost instanceof Float32Array ? new Float32Array(cost.length) : new Float64Array(cost.length);
  const sign = maximize ? -1 : 1;
  if (!transposed) {
    for (let k = 0; k < cost.length; k++) out[k] = sign * cost[k];
    return out;
  }
  const block = 32;
  for (let i0 = 0; i0 < rows; i0 += block) {
    const iEnd = Math.min(i0 + block, rows);
    for (let j0 = 0; j0 < cols; j0 += block) {
      const jEnd = Math.min(j0 + block, cols);
      for (let i = i0; i < iEnd; i++) {
        for (let j = j0; j < jEnd; j++) out[j * rows + i] = sign * cost[i * cols + j];
      }
    }
  }
  return out;
}

class SolverState {
  readonly u: Float64Array;
  readonly v: Float64Array;
  readonly spc: Float64Array;
  readonly path: Int32Array;
  readonly row4col: Int32Array;
  readonly col4row: Int32Array;
  readonly remaining: Int32Array;
  readonly scanned: Int32Array;
  readonly free: Int32Array;

  constructor(
    readonly c: CostArray,
    readonly nr: number,
    readonly nc: number,
  ) {
    this.u = new Float64Array(nr);
    this.v = new Float64Array(nc);
    this.spc = new Float64Array(nc);
    this.path = new Int32Array(nc);
    this.row4col = new Int32Array(nc).fill(-1);
    this.col4row = new Int32Array(nr).fill(-1);
    this.remaining = new Int32Array(nc);
    this.scanned = new Int32Array(nc);
    this.free = new Int32Array(nr);
  }

  // Square problems: v[j] = min of column j (read row by row), and each column goes to its minimising row when
  // that row is still free. Reduction transfer then lowers v of each singly assigned column so its row's
  // implicit dual absorbs the gap to that row's second-best column. Also detects non-finite costs for free.
  columnReduction(): boolean {
    const { c, v, path, col4row, row4col, scanned } = this;
    const n = this.nc;
    v.fill(Number.POSITIVE_INFINITY);
    path.fill(0);
    let nonFinite = false;
    for (let i = 0; i < n; i++) {
      const base = i * n;
      for (let j = 0; j < n; j++) {
        const x = c[base + j];
        nonFinite = nonFinite || x - x !== 0;
        if (x < v[j]) {
          v[j] = x;
          path[j] = i;
        }
      }
    }
    if (nonFinite) return false;
    // scanned[] doubles as "row claimed by more than one column" here.
    scanned.fill(0, 0, n);
    let assigned = 0;
    for (let j = 0; j < n; j++) {
      const i = path[j];
      if (col4row[i] < 0) {
        col4row[i] = j;
        row4col[j] = i;
        assigned++;
      } else {
        scanned[i] = 1;
      }
    }
    if (assigned < n - assigned) {
      // Column minima piled up on few rows (structured costs): start from v = 0 instead (see lap.as.ts).
      v.fill(0);
      row4col.fill(-1);
      col4row.fill(-1);
      return true;
    }
    for (let i = 0; i < n; i++) {
      const j1 = col4row[i];
      if (j1 < 0 || scanned[i] !== 0) continue;
      const base = i * n;
      let mu = Number.POSITIVE_INFINITY;
      for (let j = 0; j < j1; j++) {
        const h = c[base + j] - v[j];
        if (h < mu) mu = h;
      }
      for (let j = j1 + 1; j < n; j++) {
        const h = c[base + j] - v[j];
        if (h < mu) mu = h;
      }
      if (mu < Number.POSITIVE_INFINITY) v[j1] = v[j1] - mu;
    }
    return true;
  }

  // Rectangular problems (rows < cols) start from v = 0: every column an optimal solution may leave unassigned
  // must keep the largest v, and only columns that get assigned are ever lowered afterwards.
  zeroDualsCheckingFinite(): boolean {
    this.v.fill(0);
    const c = this.c;
    for (let k = 0; k < c.length; k++) {
      const x = c[k];
      if (x - x !== 0) return false;
    }
    return true;
  }

  // JV's augmenting row reduction, two passes over the free rows, but capped at ARR_SCANS_PER_ROW·rows row
  // scans in all: on near-degenerate costs the uncapped version keeps bouncing rows between two columns with
  // tiny dual decrements. Invariant kept: every assigned row's column minimises cost - v over its row.
  // Returns how many rows are still free (listed at the front of free[]).
  augmentingRowReduction(numFree: number): number {
    const { c, v, row4col, col4row, free, nc } = this;
    let budget = ARR_SCANS_PER_ROW * this.nr;
    for (let pass = 0; pass < 2; pass++) {
      let k = 0;
      const previousFree = numFree;
      numFree = 0;
      while (k < previousFree) {
        if (budget === 0) {
          // Out of scans: keep the unprocessed rows free for the augmenting paths.
          while (k < previousFree) free[numFree++] = free[k++];
          return numFree;
        }
        budget--;
        const i = free[k++];
        const base = i * nc;
        let u1 = c[base] - v[0];
        let j1 = 0;
        let u2 = Number.POSITIVE_INFINITY;
        let j2 = -1;
        // Lowest-index unassigned column among those at the minimum u1, or -1.
        let jFree = row4col[0] < 0 ? 0 : -1;
        for (let j = 1; j < nc; j++) {
          const h = c[base + j] - v[j];
          if (h < u2) {
            if (h >= u1) {
              u2 = h;
              j2 = j;
              if (h === u1 && jFree < 0 && row4col[j] < 0) jFree = j;
            } else {
              u2 = u1;
              j2 = j1;
              u1 = h;
              j1 = j;
              jFree = row4col[j] < 0 ? j : -1;
            }
          } else if (h === u1 && jFree < 0 && row4col[j] < 0) {
            jFree = j;
          }
        }
        if (u1 - u1 !== 0) {
          // The duals overflowed: leave this and the remaining rows to the augmenting paths, which report it.
          budget = 0;
          k--;
          continue;
        }
        let i0 = row4col[j1];
        const strictlyBest = u1 < u2;
        if (strictlyBest) {
          v[j1] = v[j1] - (u2 - u1);
        } else if (i0 >= 0 && jFree >= 0) {
          // Tied with an unassigned column: take it rather than evict the holder of j1.
          j1 = jFree;
          i0 = -1;
        } else if (i0 >= 0) {
          j1 = j2;
          i0 = row4col[j2];
        }
        row4col[j1] = i;
        col4row[i] = j1;
        if (i0 >= 0) {
          col4row[i0] = -1;
          if (strictlyBest) free[--k] = i0;
          else free[numFree++] = i0;
        }
      }
    }
    return numFree;
  }

  // Crouse's shortest augmenting path from each free row, with explicit duals u (rows) and v (columns).
  // Unscanned columns stay in ascending order so each row is read front to back; on equal distances an
  // unassigned column wins, then the lowest index.
  shortestAugmentingPaths(numFree: number): boolean {
    const { c, u, v, spc, path, row4col, col4row, remaining, scanned, free, nr, nc } = this;
    for (let i = 0; i < nr; i++) {
      const j = col4row[i];
      u[i] = j >= 0 ? c[i * nc + j] - v[j] : 0;
    }
    for (let f = 0; f < numFree; f++) {
      const curRow = free[f];
      for (let j = 0; j < nc; j++) {
        remaining[j] = j;
        spc[j] = Number.POSITIVE_INFINITY;
      }
      let numRemaining = nc;
      let numScanned = 0;
      let minVal = 0;
      let i = curRow;
      let sink = -1;
      while (sink < 0) {
        let index = -1;
        let lowest = Number.POSITIVE_INFINITY;
        let lowestFree = false;
        const base = i * nc;
        const h = minVal - u[i];
        for (let it = 0; it < numRemaining; it++) {
          const j = remaining[it];
          const r = h + c[base + j] - v[j];
          let d = spc[j];
          if (r < d) {
            path[j] = i;
            spc[j] = r;
            d = r;
          }
          if (d <= lowest) {
            if (d < lowest) {
              lowest = d;
              index = it;
              lowestFree = row4col[j] < 0;
            } else if (!lowestFree && row4col[j] < 0) {
              index = it;
              lowestFree = true;
            }
          }
        }
        // Finite costs give finite distances unless the dual arithmetic overflowed.
        if (index < 0 || lowest - lowest !== 0) return false;
        minVal = lowest;
        const j = remaining[index];
        if (lowestFree) sink = j;
        else i = row4col[j];
        scanned[numScanned++] = j;
        numRemaining--;
        remaining.copyWithin(index, index + 1, numRemaining + 1);
      }
      u[curRow] = u[curRow] + minVal;
      for (let s = 0; s < numScanned; s++) {
        const j = scanned[s];
        const gap = minVal - spc[j];
        if (j !== sink) {
          const row = row4col[j];
          u[row] = u[row] + gap;
        }
        v[j] = v[j] - gap;
      }
      let j = sink;
      while (true) {
        const row = path[j];
        row4col[j] = row;
        const previous = col4row[row];
        col4row[row] = j;
        if (row === curRow) break;
        j = previous;
      }
    }
    return true;
  }
}
