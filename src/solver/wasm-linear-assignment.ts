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

// One instance for the whole process: its memory only grows, so later calls of the same size reuse it.
let kernel: LapKernelExports | null | undefined;

function loadKernel(): LapKernelExports | null {
  if (kernel !== undefined) return kernel;
  kernel = null;
  if (LAP_WASM_BASE64 === null || webAssembly === undefined) return kernel;
  try {
    kernel = instantiateOptimized(webAssembly, Buffer.from(LAP_WASM_BASE64, 'base64'));
  } catch {
    kernel = null;
  }
  return kernel;
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
function instantiateOptimized(api: WebAssemblyApi, bytes: Uint8Array): LapKernelExports {
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
    return lap;
  } finally {
    setFlagsFromString('--liftoff');
  }
}

/** Whether the WebAssembly kernel could be loaded in this process. */
export function wasmSolverAvailable(): boolean {
  return loadKernel() !== null;
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
  const lap = loadKernel();
  if (lap === null) return null;
  const isF32 = cost instanceof Float32Array;
  const pointer = lap.reserve(rows, cols, isF32 ? 4 : 8);
  if (pointer === 0) return null;
  // The buffer is replaced whenever memory grows, so views are made after reserve().
  const buffer = lap.memory.buffer;
  if (isF32) new Float32Array(buffer, pointer, cost.length).set(cost);
  else new Float64Array(buffer, pointer, cost.length).set(cost);
  const status = lap.solve(isF32 ? 1 : 0, maximize ? 1 : 0);
  if (status === STATUS_NON_FINITE) return 'non-finite';
  if (status === STATUS_OVERFLOW) return 'overflow';
  return new Int32Array(lap.memory.buffer, lap.resultPointer(), rows).slice();
}
