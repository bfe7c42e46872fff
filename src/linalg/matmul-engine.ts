/**
 * A way of computing `C = A·Bᵀ` for row-major float32 `A` (rows × depth) and `B` (cols × depth): the product
 * behind every alignment cost matrix. Engines differ in speed and in accumulation precision, which is why the
 * result type is open: float64 engines return a Float64Array, float32 engines a Float32Array.
 */
export interface MatmulTransposedEngine {
  readonly name: string;
  /** Resolves to a fresh row-major rows × cols array; the operands are not modified. */
  run(
    a: Float32Array,
    b: Float32Array,
    rows: number,
    cols: number,
    depth: number,
  ): Promise<Float32Array | Float64Array>;
  /**
   * `C = Aᵀ·B` for row-major `A` (depth × rows) and `B` (depth × cols): for operands that hold their units along
   * the second axis (a dense weight's input space), with no transposed copy. Engines without it are given the
   * transposes (see runTransposedA).
   */
  runTransposedA?(
    a: Float32Array,
    b: Float32Array,
    rows: number,
    cols: number,
    depth: number,
  ): Promise<Float32Array | Float64Array>;
}

/** `Aᵀ·B` on any engine: natively where it has runTransposedA, else through transposed copies. */
export function runTransposedA(
  engine: MatmulTransposedEngine,
  a: Float32Array,
  b: Float32Array,
  rows: number,
  cols: number,
  depth: number,
): Promise<Float32Array | Float64Array> {
  if (engine.runTransposedA !== undefined) return engine.runTransposedA(a, b, rows, cols, depth);
  return engine.run(transpose(a, depth, rows), transpose(b, depth, cols), rows, cols, depth);
}

/** The transpose of a row-major `rows × cols` matrix. */
export function transpose(m: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(m.length);
  // Blocks keep both the reads and the writes within cache lines.
  const B = 64;
  for (let r0 = 0; r0 < rows; r0 += B) {
    const r1 = Math.min(rows, r0 + B);
    for (let c0 = 0; c0 < cols; c0 += B) {
      const c1 = Math.min(cols, c0 + B);
      for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) out[c * rows + r] = m[r * cols + c];
    }
  }
  return out;
}

export type { MatmulEnginePreference } from './matmul-engine-preference.js';

/** Throws unless the operands hold exactly rows × depth and cols × depth elements. */
export function checkMatmulOperands(
  who: string,
  a: Float32Array,
  b: Float32Array,
  rows: number,
  cols: number,
  depth: number,
): void {
  for (const [label, value] of [
    ['rows', rows],
    ['cols', cols],
    ['depth', depth],
  ] as const) {
    if (!Number.isInteger(value) || value < 0)
      throw new RangeError(`${who}: ${label} must be a whole number`);
  }
  if (a.length !== rows * depth)
    throw new RangeError(`${who}: A has ${a.length} elements, not ${rows}×${depth}`);
  if (b.length !== cols * depth)
    throw new RangeError(`${who}: B has ${b.length} elements, not ${cols}×${depth}`);
}
