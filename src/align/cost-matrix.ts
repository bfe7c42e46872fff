import { getMatmulEngine } from '../linalg/get-matmul-engine.js';
import { type MatmulTransposedEngine, runTransposedA } from '../linalg/matmul-engine.js';
import type { AxisPart } from '../spec/architecture-spec.js';
import type { FloatTensor } from '../tensor/tensor.js';
import type { SpacePairing, TensorPairing } from './alignment-problem.js';
import { axisIndex, type KernelPolicy } from './axis-index.js';
import { gatherTensor, rangeIndex } from './gather-tensor.js';
import type { PairedTensors, SourcedAlignment } from './paired-tensors.js';
import type { SpaceMaps } from './space-map.js';

/** Where a space occurs: which pair, which axis, which part of that axis, and the part's offsets. */
interface Occurrence {
  /** Names the occurrence among all of the problem's, for the cache of base slices. */
  readonly key: string;
  readonly pair: TensorPairing;
  readonly axis: number;
  readonly basePart: AxisPart;
  readonly targetPart: AxisPart;
  readonly block: number;
  readonly targetBlock: number;
  readonly baseOffset: number;
  readonly targetOffset: number;
}

/**
 * One occurrence of a space with its entries as units: entry `(x, y)` of `product` (`rows × cols`, row-major) is
 * the gain from sending target entry `y` of the part to base entry `x`, every other axis mapped as it stands.
 * Rows run over base units then the entries of each unit's block; columns likewise over the target's.
 */
export interface EntryProduct {
  readonly basePart: AxisPart;
  readonly targetPart: AxisPart;
  readonly rows: number;
  readonly cols: number;
  readonly product: Float32Array | Float64Array;
}

/**
 * Builds the weight-matching cost matrices of one alignment problem. Entry `(i, j)` of a space's matrix is the
 * gain in `Σ ⟨W_base, T(W_target)⟩` from sending target unit `j` to base unit `i` with every other map held:
 * the base tensors unfolded along the space times the otherwise-mapped target tensors unfolded along it.
 */
export class CostMatrixBuilder {
  private readonly occurrences = new Map<string, Occurrence[]>();
  private readonly tensors: PairedTensors;
  private readonly pairs: readonly TensorPairing[];

  constructor(
    problem: SourcedAlignment,
    private readonly kernel: KernelPolicy,
    /** The GEMM for the products; by default the fastest that loads here (see getMatmulEngine). */
    private readonly matmul?: MatmulTransposedEngine,
  ) {
    this.tensors = problem.tensors;
    this.pairs = problem.pairs;
    const targetWidths = new Map(problem.spaces.map((s) => [s.baseSpace, s.targetWidth]));
    const baseWidths = new Map(problem.spaces.map((s) => [s.baseSpace, s.baseWidth]));
    for (const pair of problem.pairs) {
      pair.baseAxes.forEach((axis, k) => {
        if (axis === null) return;
        let baseOffset = 0;
        let targetOffset = 0;
        axis.forEach((part, p) => {
          const list = this.occurrences.get(part.space) ?? [];
          const targetPart = pair.targetAxes[k]?.[p] ?? part;
          list.push({
            key: `${pair.baseName}#${k}#${p}`,
            pair,
            axis: k,
            basePart: part,
            targetPart,
            block: part.block,
            targetBlock: targetPart.block,
            baseOffset,
            targetOffset,
          });
          this.occurrences.set(part.space, list);
          baseOffset += (baseWidths.get(part.space) ?? 0) * part.block;
          targetOffset += (targetWidths.get(part.space) ?? 0) * targetPart.block;
        });
      });
    }
  }

  /** The `baseWidth × targetWidth` matrix for `space` under the current maps of all other spaces. */
  async build(space: SpacePairing, maps: SpaceMaps): Promise<Float64Array> {
    const a = space.baseWidth;
    const b = space.targetWidth;
    const cost = new Float64Array(a * b);
    if (cost.length === 0) return cost;
    const matmul = this.matmul ?? (await getMatmulEngine());
    for (const occ of this.occurrences.get(space.baseSpace) ?? []) {
      const product = isWholeAxisOfMatrix(occ)
        ? await this.matrixProduct(occ, a, b, maps, matmul)
        : await this.unfoldedProduct(occ, a, b, maps, matmul);
      for (let i = 0; i < product.length; i++) cost[i] += product[i];
    }
    return cost;
  }

  /**
   * A dense weight whose whole axis is the space: the base tensor is used as it lies (rows as units, or columns
   * through `Aᵀ·B`), and only the target's other axis is gathered, so no slice is unfolded or kept.
   */
  private async matrixProduct(
    occ: Occurrence,
    a: number,
    b: number,
    maps: SpaceMaps,
    matmul: MatmulTransposedEngine,
  ): Promise<Float32Array | Float64Array> {
    const base = await this.tensors.base(occ.pair);
    const target = await this.tensors.target(occ.pair);
    const other = 1 - occ.axis;
    const index = axisIndex(
      occ.pair.baseAxes[other],
      occ.pair.targetAxes[other],
      base.shape[other],
      target.shape[other],
      maps,
      this.kernel,
      `tensor '${occ.pair.targetName}' axis ${other}`,
    );
    const depth = base.shape[other];
    const indices = occ.axis === 0 ? [rangeIndex(0, b), index] : [index, rangeIndex(0, b)];
    const mapped = gatherTensor(target.data, target.shape, indices).data;
    return occ.axis === 0
      ? matmul.run(base.data, mapped, a, b, depth)
      : runTransposedA(matmul, base.data, mapped, a, b, depth);
  }

  private async unfoldedProduct(
    occ: Occurrence,
    a: number,
    b: number,
    maps: SpaceMaps,
    matmul: MatmulTransposedEngine,
  ): Promise<Float32Array | Float64Array> {
    const baseSlice = await this.baseSlice(occ, a);
    const targetSlice = this.targetSlice(occ, b, maps, await this.tensors.target(occ.pair));
    return matmul.run(baseSlice, targetSlice, a, b, baseSlice.length / a);
  }

  /** Every occurrence of `space` as an entry-level product (see EntryProduct), for the nested assignment. */
  async entryProducts(space: SpacePairing, maps: SpaceMaps): Promise<EntryProduct[]> {
    const matmul = this.matmul ?? (await getMatmulEngine());
    const out: EntryProduct[] = [];
    for (const occ of this.occurrences.get(space.baseSpace) ?? []) {
      const rows = space.baseWidth * occ.block;
      const cols = space.targetWidth * occ.targetBlock;
      if (rows === 0 || cols === 0) continue;
      const baseSlice = await this.baseSlice(occ, space.baseWidth);
      const targetSlice = this.targetSlice(occ, space.targetWidth, maps, await this.tensors.target(occ.pair));
      const product = await matmul.run(baseSlice, targetSlice, rows, cols, baseSlice.length / rows);
      out.push({ basePart: occ.basePart, targetPart: occ.targetPart, rows, cols, product });
    }
    return out;
  }

  /** The pairs any of `spaces` occurs in (each once, nested levels included). */
  pairsTouching(spaces: readonly string[]): TensorPairing[] {
    const wanted = new Set(spaces);
    return this.pairs.filter((pair) =>
      pair.baseAxes.some((axis) =>
        (axis ?? []).some(
          (part) =>
            wanted.has(part.space) ||
            (part.inner ?? []).some((l) => l.space !== undefined && wanted.has(l.space)),
        ),
      ),
    );
  }

  /** Base tensors never change frame, so each unfolded slice is made once and kept as the budget allows. */
  private baseSlice(occ: Occurrence, width: number): Promise<Float32Array> {
    const rows = width * occ.block;
    const shape = this.tensors.shapes(occ.pair).base;
    const bytes =
      (shape.reduce((n, d) => n * d, 1) / shape[occ.axis]) * rows * Float32Array.BYTES_PER_ELEMENT;
    return this.tensors.derived(occ.key, bytes, async () => {
      const base = await this.tensors.base(occ.pair);
      const indices = base.shape.map((len, k) =>
        k === occ.axis ? rangeIndex(occ.baseOffset, rows) : rangeIndex(0, len),
      );
      return gatherTensor(base.data, base.shape, indices, {
        axisOrder: unitAxisFirst(base.shape.length, occ.axis),
      }).data;
    });
  }

  private targetSlice(occ: Occurrence, width: number, maps: SpaceMaps, target: FloatTensor): Float32Array {
    const { pair, axis } = occ;
    const where = `tensor '${pair.targetName}'`;
    const indices = pair.baseAxes.map((baseAxis, k) =>
      k === axis
        ? rangeIndex(occ.targetOffset, width * occ.targetBlock)
        : axisIndex(
            baseAxis,
            pair.targetAxes[k],
            this.tensors.shapes(pair).base[k],
            target.shape[k],
            maps,
            this.kernel,
            `${where} axis ${k}`,
          ),
    );
    return gatherTensor(target.data, target.shape, indices, {
      axisOrder: unitAxisFirst(target.shape.length, axis),
    }).data;
  }
}

/** A rank-2 tensor whose whole axis is one part of the space, a unit per entry. */
function isWholeAxisOfMatrix(occ: Occurrence): boolean {
  const axis = occ.pair.baseAxes[occ.axis];
  return (
    occ.pair.baseAxes.length === 2 &&
    axis !== null &&
    axis.length === 1 &&
    occ.block === 1 &&
    occ.targetBlock === 1 &&
    occ.basePart.inner === undefined &&
    occ.targetPart.inner === undefined
  );
}

/** Axis order that brings `axis` to the front and keeps the others in place: rows become the space's units. */
function unitAxisFirst(rank: number, axis: number): number[] {
  return [axis, ...[...Array(rank).keys()].filter((k) => k !== axis)];
}
