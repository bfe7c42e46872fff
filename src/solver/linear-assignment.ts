import type { CostArray } from './cost-array.js';
import { CostMatrixShapeError, CostOverflowError } from './linear-assignment-errors.js';
import { firstNonFiniteCost } from './non-finite-cost.js';
import { type KernelResult, solveLinearAssignmentTypeScript } from './shortest-augmenting-path.js';
import { openWasmCostWorkspace, solveLinearAssignmentWasm } from './wasm-linear-assignment.js';

export type { CostArray } from './cost-array.js';

/** Which kernel runs: WebAssembly when it loads (default), or the TypeScript twin. Both give the same result. */
export type LinearAssignmentImplementation = 'auto' | 'wasm' | 'typescript';

export interface LinearAssignmentOptions {
  /** Maximise the total instead of minimising it. */
  readonly maximize?: boolean;
  /** 'auto' (default) and 'wasm' fall back to TypeScript when WebAssembly is unavailable. */
  readonly implementation?: LinearAssignmentImplementation;
}

/**
 * Exact rectangular linear assignment on a dense row-major rows × cols cost matrix: returns, for each row, its
 * column or -1, with exactly min(rows, cols) rows assigned and the total cost minimal (maximal with
 * `maximize`). Float32 costs are solved as given (read as float32, duals in f64).
 *
 * Ties are broken deterministically: the result depends only on the costs' values, the shape and `maximize`
 * — never on the kernel (WebAssembly and TypeScript return the same columns bit for bit), on earlier calls,
 * or on the array type (a Float32Array and a Float64Array holding the same numbers give the same answer).
 * Where optimal assignments tie, lower indices win: column reduction gives each column its lowest-index
 * minimising row; row reduction takes a row's lowest-index minimising column or, when that one is taken, the
 * lowest-index unassigned column tied with it; the shortest-path search takes, among columns at equal
 * distance, an unassigned one first, then the lowest index. So a matrix of equal costs yields the diagonal:
 * row i gets column i for i < min(rows, cols), the other rows -1.
 *
 * Throws CostMatrixShapeError when cost.length ≠ rows·cols, NonFiniteCostError on a NaN or infinite cost,
 * CostOverflowError when finite costs are so large (near ±1.8e308) that the dual arithmetic overflows.
 */
export function solveLinearAssignment(
  cost: CostArray,
  rows: number,
  cols: number,
  options: LinearAssignmentOptions = {},
): Int32Array {
  assertShape(cost, rows, cols);
  const maximize = options.maximize ?? false;
  const implementation = options.implementation ?? 'auto';
  let result: KernelResult | null = null;
  if (implementation !== 'typescript') result = solveLinearAssignmentWasm(cost, rows, cols, maximize);
  result ??= solveLinearAssignmentTypeScript(cost, rows, cols, maximize);
  return checkedResult(result, cost, cols);
}

function checkedResult(result: KernelResult, cost: CostArray, cols: number): Int32Array {
  if (result === 'non-finite') {
    throw (
      firstNonFiniteCost(cost, cols) ?? new CostOverflowError('linear assignment: non-finite dual values')
    );
  }
  if (result === 'overflow') {
    throw new CostOverflowError(
      'linear assignment: the dual arithmetic overflowed; scale the costs down (they are near ±Number.MAX_VALUE)',
    );
  }
  return result;
}

/**
 * A rows × cols float64 cost matrix to fill and then solve, held where the solver reads it: in the WebAssembly
 * kernel's memory when it loads, so a large problem (a 11 008² matrix is 0.97 GB) is not held twice (a tall one,
 * rows > cols, still is: the kernel solves its transpose). Fill
 * `cost` (it starts at zero), call solve() (same answer as solveLinearAssignment on the same numbers; `cost` still
 * holds them afterwards), then close(). `cost` must not be used after close().
 */
export interface AssignmentWorkspace {
  readonly cost: Float64Array;
  solve(options?: Pick<LinearAssignmentOptions, 'maximize'>): Int32Array;
  close(): void;
}

export function openAssignmentWorkspace(
  rows: number,
  cols: number,
  options: Pick<LinearAssignmentOptions, 'implementation'> = {},
): AssignmentWorkspace {
  const wasm = options.implementation === 'typescript' ? null : openWasmCostWorkspace(rows, cols);
  if (wasm === null) {
    const cost = new Float64Array(rows * cols);
    return {
      cost,
      solve: (solveOptions = {}) => solveLinearAssignment(cost, rows, cols, { ...solveOptions, ...options }),
      close: () => {},
    };
  }
  return {
    cost: wasm.cost,
    solve: (solveOptions = {}) => checkedResult(wasm.solve(solveOptions.maximize ?? false), wasm.cost, cols),
    close: () => wasm.close(),
  };
}

/** Σ cost[i, assignment[i]] over the assigned rows (those with a column ≥ 0), summed in row order. */
export function assignmentCost(cost: CostArray, rows: number, cols: number, assignment: Int32Array): number {
  assertShape(cost, rows, cols);
  if (assignment.length !== rows) {
    throw new CostMatrixShapeError(`assignment has ${assignment.length} entries for ${rows} rows`);
  }
  let total = 0;
  for (let i = 0; i < rows; i++) {
    const j = assignment[i];
    if (j >= cols) throw new CostMatrixShapeError(`assignment[${i}] = ${j} is not a column of ${cols}`);
    if (j >= 0) total += cost[i * cols + j];
  }
  return total;
}

function assertShape(cost: CostArray, rows: number, cols: number): void {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) {
    throw new CostMatrixShapeError(
      `linear assignment: rows (${rows}) and cols (${cols}) must be integers ≥ 0`,
    );
  }
  if (rows * cols !== cost.length) {
    throw new CostMatrixShapeError(
      `linear assignment: cost has ${cost.length} entries, but rows × cols = ${rows} × ${cols} = ${rows * cols}`,
    );
  }
}
