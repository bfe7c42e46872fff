import { getMatmulEngine } from '../linalg/get-matmul-engine.js';
import type { MatmulTransposedEngine } from '../linalg/matmul-engine.js';
import type { AxisPart } from '../spec/architecture-spec.js';
import type { AlignmentProblem, SpacePairing, TensorPair } from './alignment-problem.js';
import { axisIndex, type KernelPolicy } from './axis-index.js';
import { gatherTensor, rangeIndex } from './gather-tensor.js';
import type { SpaceMaps } from './space-map.js';

/** Where a space occurs: which pair, which axis, which part of that axis, and the part's offsets. */
interface Occurrence {
  readonly pair: TensorPair;
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
  /** Base tensors never change frame, so each unfolded slice is computed once. */
  private readonly baseSlices = new Map<Occurrence, Float32Array>();

  constructor(
    problem: AlignmentProblem,
    private readonly kernel: KernelPolicy,
    /** The GEMM for the products; by default the fastest that loads here (see getMatmulEngine). */
    private readonly matmul?: MatmulTransposedEngine,
  ) {
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
      const baseSlice = this.baseSlice(occ, a);
      const targetSlice = this.targetSlice(occ, b, maps);
      const product = await matmul.run(baseSlice, targetSlice, a, b, baseSlice.length / a);
      for (let i = 0; i < product.length; i++) cost[i] += product[i];
    }
    return cost;
  }

  /** Every occurrence of `space` as an entry-level product (see EntryProduct), for the nested assignment. */
  async entryProducts(space: SpacePairing, maps: SpaceMaps): Promise<EntryProduct[]> {
    const matmul = this.matmul ?? (await getMatmulEngine());
    const out: EntryProduct[] = [];
    for (const occ of this.occurrences.get(space.baseSpace) ?? []) {
      const rows = space.baseWidth * occ.block;
      const cols = space.targetWidth * occ.targetBlock;
      if (rows === 0 || cols === 0) continue;
      const baseSlice = this.baseSlice(occ, space.baseWidth);
      const targetSlice = this.targetSlice(occ, space.targetWidth, maps);
      const product = await matmul.run(baseSlice, targetSlice, rows, cols, baseSlice.length / rows);
      out.push({ basePart: occ.basePart, targetPart: occ.targetPart, rows, cols, product });
    }
    return out;
  }

  private baseSlice(occ: Occurrence, width: number): Float32Array {
    const cached = this.baseSlices.get(occ);
    if (cached) return cached;
    const { pair, axis } = occ;
    const shape = pair.base.shape;
    const indices = shape.map((len, k) =>
      k === axis ? rangeIndex(occ.baseOffset, width * occ.block) : rangeIndex(0, len),
    );
    const slice = gatherTensor(pair.base.data, shape, indices, {
      axisOrder: unitAxisFirst(shape.length, axis),
    }).data;
    this.baseSlices.set(occ, slice);
    return slice;
  }

  private targetSlice(occ: Occurrence, width: number, maps: SpaceMaps): Float32Array {
    const { pair, axis } = occ;
    const where = `tensor '${pair.targetName}'`;
    const indices = pair.baseAxes.map((baseAxis, k) =>
      k === axis
        ? rangeIndex(occ.targetOffset, width * occ.targetBlock)
        : axisIndex(
            baseAxis,
            pair.targetAxes[k],
            pair.base.shape[k],
            pair.target.shape[k],
            maps,
            this.kernel,
            `${where} axis ${k}`,
          ),
    );
    return gatherTensor(pair.target.data, pair.target.shape, indices, {
      axisOrder: unitAxisFirst(pair.target.shape.length, axis),
    }).data;
  }
}

/** Axis order that brings `axis` to the front and keeps the others in place: rows become the space's units. */
function unitAxisFirst(rank: number, axis: number): number[] {
  return [axis, ...[...Array(rank).keys()].filter((k) => k !== axis)];
}
