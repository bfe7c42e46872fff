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
}

/** `auto` picks the fastest engine that loads here; the others force one engine. */
export type MatmulEnginePreference = 'auto' | 'onnxruntime' | 'typescript';

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
