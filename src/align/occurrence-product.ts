import { type MatmulTransposedEngine, runTransposedA } from '../linalg/matmul-engine.js';
import { transposeMatrix } from '../linalg/transpose-matrix.js';
import type { FloatTensor } from '../tensor/tensor.js';
import { gatherTensor, rangeIndex } from './gather-tensor.js';

/**
 * One occurrence of a space in one tensor pair, with the maps of every other axis already turned into index
 * arrays: all a process needs, besides the two tensors, to compute that occurrence's share of a cost matrix. It
 * holds no tensor data, so it can be sent to another process (src/align/cost-product-runner.ts).
 */
export interface OccurrenceProductTask {
  /** Names the occurrence among the alignment's (`<base tensor>#<axis>#<part>`), for caches of its base slice. */
  readonly key: string;
  readonly baseName: string;
  readonly targetName: string;
  /** The axis the space runs along. */
  readonly axis: number;
  /** The base entries of that axis the occurrence spans: `[baseOffset, baseOffset + rows·(block entries…))`. */
  readonly baseOffset: number;
  readonly baseLength: number;
  /** Per target axis, the target index read into each base position (−1: none); on `axis`, the part's entries. */
  readonly targetIndices: readonly Int32Array[];
  /** The product's shape: units (or unit entries) of the base × of the target. */
  readonly rows: number;
  readonly cols: number;
  /** A rank-2 weight whose whole axis is the space, one unit per entry: multiplied as it lies. */
  readonly wholeMatrix: boolean;
}

/** Keeps or remakes the unfolded base slice of an occurrence (base tensors never change frame). */
export type BaseSliceCache = (
  task: OccurrenceProductTask,
  make: () => Promise<Float32Array>,
) => Promise<Float32Array>;

/** The occurrence's two tensors, read when needed: a cached base slice needs no base tensor. */
export interface OccurrenceTensors {
  base(): Promise<FloatTensor>;
  target(): Promise<FloatTensor>;
}

/**
 * The occurrence's `rows × cols` product: entry `(x, y)` is the gain from sending target entry `y` to base entry
 * `x` along the space, every other axis read through its index array. A whole-matrix occurrence uses the base
 * tensor as it lies (rows as units, or columns through `Aᵀ·B`) and gathers only the target's other axis;
 * anything else unfolds both sides with the space's axis first.
 */
export async function occurrenceProduct(
  task: OccurrenceProductTask,
  tensors: OccurrenceTensors,
  matmul: MatmulTransposedEngine,
  cache: BaseSliceCache = (_task, make) => make(),
): Promise<Float32Array | Float64Array> {
  const target = await tensors.target();
  if (task.wholeMatrix) {
    const base = await tensors.base();
    const depth = base.shape[1 - task.axis];
    if (task.axis === 0) {
      const mapped = gatherTensor(target.data, target.shape, task.targetIndices).data;
      return matmul.run(base.data, mapped, task.rows, task.cols, depth);
    }
    // Columns as units. `Aᵀ·B` runs in one call; a product larger than its operands (an MLP's down projection:
    // 11008² from two 4096 × 11008 weights) ran ~25 % faster as row blocks of `A·Bᵀ` on transposed copies, the
    // copies included (bench/gemm.ts); smaller products stay as they are.
    const [rowIndex, columnIndex] = task.targetIndices;
    if (task.rows * task.cols >= depth * (task.rows + task.cols) && isRange(columnIndex, target.shape[1])) {
      const baseColumns = transposeMatrix(base.data, base.shape[0], base.shape[1]);
      const mappedColumns = transposeMatrix(target.data, target.shape[0], target.shape[1], rowIndex);
      return matmul.run(baseColumns, mappedColumns, task.rows, task.cols, depth);
    }
    const mapped = gatherTensor(target.data, target.shape, task.targetIndices).data;
    return runTransposedA(matmul, base.data, mapped, task.rows, task.cols, depth);
  }
  const baseSlice = await cache(task, async () => {
    const base = await tensors.base();
    const indices = base.shape.map((len, k) =>
      k === task.axis ? rangeIndex(task.baseOffset, task.baseLength) : rangeIndex(0, len),
    );
    return gatherTensor(base.data, base.shape, indices, {
      axisOrder: unitAxisFirst(base.shape.length, task.axis),
    }).data;
  });
  const targetSlice = gatherTensor(target.data, target.shape, task.targetIndices, {
    axisOrder: unitAxisFirst(target.shape.length, task.axis),
  }).data;
  return matmul.run(baseSlice, targetSlice, task.rows, task.cols, baseSlice.length / task.rows);
}

/** Bytes of an occurrence's unfolded base slice, from the base tensor's shape. */
export function baseSliceBytes(task: OccurrenceProductTask, baseShape: readonly number[]): number {
  const elements = baseShape.reduce((n, d) => n * d, 1);
  return (elements / baseShape[task.axis]) * task.baseLength * Float32Array.BYTES_PER_ELEMENT;
}

/** Whether `index` is 0, 1, …, length − 1. */
function isRange(index: Int32Array, length: number): boolean {
  if (index.length !== length) return false;
  for (let i = 0; i < length; i++) if (index[i] !== i) return false;
  return true;
}

/** Axis order that brings `axis` to the front and keeps the others in place: rows become the space's units. */
function unitAxisFirst(rank: number, axis: number): number[] {
  return [axis, ...[...Array(rank).keys()].filter((k) => k !== axis)];
}
