import { setFlagsFromString } from 'node:v8';
import type { CostArray } from './cost-array.js';
import { LAP_WASM_BASE64 } from './lap-wasm-binary.generated.js';
import type { KernelResult } from './shortest-augmenting-path.js';

/** The part of the WebAssembly JS API used here (the project's lib settings carry no typings for it). */
interface WebAssemblyApi {
  readonly Module: new (bytes: Uint8Array) => object;
  readonly Instance: new (module: object, imports: object) => { readonly exports: unknown };
}

const webAssembly = (globalThis as { WebAssembly?: WebAssemblyApi }).WebAssembly;

/** Exports of src/solver/lap.as.ts. */
interface LapKernelExports {
  readonly memory: { readonly buffer: ArrayBuffer };
  reserve(rows: number, cols: number, elemBytes: number): number;
  solve(isF32: number, maximize: number): number;
  resultPointer(): number;
}

const STATUS_NON_FINITE = 1;
const STATUS_OVERFLOW = 2;

// Compiled once; instances share its code. Each instance's memory only grows, so later calls of the same size
// reuse it. Calls take an idle instance and give it back: a synchronous solve always finds the same one, and a
// second instance is made only while a workspace (below) holds the first across awaits. Idle instances are kept
// for the life of the process, each with memory for the widest problem it solved (twice that if it was tall).
let compiled: { readonly module: object; readonly api: WebAssemblyApi } | null | undefined;
const idle: LapKernelExports[] = [];

function acquireKernel(): LapKernelExports | null {
  const kernel = idle.pop();
  if (kernel !== undefined) return kernel;
  if (compiled === undefined) {
    compiled = null;
    if (LAP_WASM_BASE64 !== null && webAssembly !== undefined) {
      try {
        compiled = compileOptimized(webAssembly, Buffer.from(LAP_WASM_BASE64, 'base64'));
      } catch {
        compiled = null;
      }
    }
  }
  if (compiled === null) return null;
  // Compiling leaves its warmed-up instance idle.
  const warmed = idle.pop();
  if (warmed !== undefined) return warmed;
  return new compiled.api.Instance(compiled.module, {}).exports as LapKernelExports;
}

function releaseKernel(kernel: LapKernelExports): void {
  idle.push(kernel);
}

/** Square (column reduction), wide and tall (transposed) problems: together they call every kernel function. */
const WARM_UP_SHAPES: readonly (readonly [number, number])[] = [
  [4, 4],
  [2, 5],
  [5, 2],
];

// V8 first runs new WebAssembly in its baseline tier (Liftoff) and optimises a function only once it is hot,
// which for one large solve happens late: the first 2048×2048 solve ran ~1.7× slower than later ones. V8 also
// compiles each function lazily, on its first call, with the tier the flags name at that moment. So the kernel
// is instantiated and every function called once (tiny problems covering each code path) with Liftoff off,
// then the flag is restored for everything else in the process.
function compileOptimized(
  api: WebAssemblyApi,
  bytes: Uint8Array,
): { readonly module: object; readonly api: WebAssemblyApi } {
  setFlagsFromString('--no-liftoff');
  try {
    const module = new api.Module(bytes);
    const lap = new api.Instance(module, {}).exports as LapKernelExports;
    for (const [rows, cols] of WARM_UP_SHAPES) {
      for (const elemBytes of [4, 8]) {
        const pointer = lap.reserve(rows, cols, elemBytes);
        const costs =
          elemBytes === 4
            ? new Float32Array(lap.memory.buffer, pointer, rows * cols)
            : new Float64Array(lap.memory.buffer, pointer, rows * cols);
        for (let k = 0; k < costs.length; k++) costs[k] = (k * 7) % 5;
        lap.solve(elemBytes === 4 ? 1 : 0, 1);
      }
    }
    idle.push(lap);
    return { module, api };
  } finally {
    setFlagsFromString('--liftoff');
  }
}

/** Whether the WebAssembly kernel could be loaded in this process. */
export function wasmSolverAvailable(): boolean {
  const kernel = acquireKernel();
  if (kernel === null) return false;
  releaseKernel(kernel);
  return true;
}

/**
 * Solves with the WebAssembly kernel. Returns null when the kernel is unavailable or its 4 GiB memory cannot
 * hold the problem (the caller then uses the TypeScript twin, which gives the same answer).
 */
export function solveLinearAssignmentWasm(
  cost: CostArray,
  rows: number,
  cols: number,
  maximize: boolean,
): KernelResult | null {
  const lap = acquireKernel();
  if (lap === null) return null;
  try {
    const isF32 = cost instanceof Float32Array;
    const pointer = lap.reserve(rows, cols, isF32 ? 4 : 8);
    if (pointer === 0) return null;
    // The buffer is replaced whenever memory grows, so views are made after reserve().
    const buffer = lap.memory.buffer;
    if (isF32) new Float32Array(buffer, pointer, cost.length).set(cost);
    else new Float64Array(buffer, pointer, cost.length).set(cost);
    return solveReserved(lap, isF32, rows, maximize);
  } finally {
    releaseKernel(lap);
  }
}

function solveReserved(lap: LapKernelExports, isF32: boolean, rows: number, maximize: boolean): KernelResult {
  const status = lap.solve(isF32 ? 1 : 0, maximize ? 1 : 0);
  if (status === STATUS_NON_FINITE) return 'non-finite';
  if (status === STATUS_OVERFLOW) return 'overflow';
  return new Int32Array(lap.memory.buffer, lap.resultPointer(), rows).slice();
}

/**
 * A float64 cost matrix laid out in a kernel's own memory, so that a large problem is held once rather than
 * twice (solveLinearAssignmentWasm copies its argument in). The kernel is this workspace's until close().
 */
export interface WasmCostWorkspace {
  /** Where the row-major costs go. Valid until close(); solving leaves the costs as they were written. */
  readonly cost: Float64Array;
  solve(maximize: boolean): KernelResult;
  close(): void;
}

/** Reserves a kernel for a rows × cols float64 problem; null when none loads or its memory cannot hold it. */
export function openWasmCostWorkspace(rows: number, cols: number): WasmCostWorkspace | null {
  const lap = acquireKernel();
  if (lap === null) return null;
  const pointer = lap.reserve(rows, cols, 8);
  if (pointer === 0) {
    releaseKernel(lap);
    return null;
  }
  const cost = new Float64Array(lap.memory.buffer, pointer, rows * cols);
  cost.fill(0);
  let open = true;
  return {
    cost,
    solve(maximize) {
      if (!open) throw new Error('WasmCostWorkspace: solve() after close()');
      const result = solveReserved(lap, false, rows, maximize);
      // The kernel negates its input in place to maximise; the caller reads the costs again afterwards.
      if (maximize) for (let k = 0; k < cost.length; k++) cost[k] = -cost[k];
      return result;
    },
    close() {
      if (!open) return;
      open = false;
      releaseKernel(lap);
    },
  };
}
