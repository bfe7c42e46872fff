import type { AxisPart } from '../spec/architecture-spec.js';
import { pairTouches, type SpacePairing, type TensorPairing } from './alignment-problem.js';
import { axisIndex, type KernelPolicy } from './axis-index.js';
import { type CostProductRunner, InProcessCostProducts } from './cost-product-runner.js';
import { rangeIndex } from './gather-tensor.js';
import type { OccurrenceProductTask } from './occurrence-product.js';
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
  private readonly runner: CostProductRunner;

  constructor(
    problem: SourcedAlignment,
    private readonly kernel: KernelPolicy,
    /** Where the products run; by default here, on the fastest engine that loads (see getMatmulEngine). */
    runner?: CostProductRunner,
  ) {
    this.tensors = problem.tensors;
    this.runner = runner ?? new InProcessCostProducts(problem.tensors);
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

  /**
   * The `baseWidth × targetWidth` matrix for `space` under the current maps of all other spaces, counting the
   * pairs `counts` admits; added into `into` (zeros, e.g. the solver's workspace) when given.
   */
  async build(
    space: SpacePairing,
    maps: SpaceMaps,
    counts: (pair: TensorPairing) => boolean = () => true,
    into?: Float64Array,
  ): Promise<Float64Array> {
    const cost = into ?? new Float64Array(space.baseWidth * space.targetWidth);
    if (cost.length !== space.baseWidth * space.targetWidth) {
      throw new RangeError(
        `cost matrix of space '${space.baseSpace}': ${cost.length} entries given for ${space.baseWidth} × ${space.targetWidth}`,
      );
    }
    if (cost.length === 0) return cost;
    const tasks = this.tasks(space, maps, 'unit', counts);
    for await (const product of this.runner.products(tasks)) {
      for (let i = 0; i < product.length; i++) cost[i] += product[i];
    }
    return cost;
  }

  /** Every occurrence of `space` as an entry-level product (see EntryProduct), for the nested assignment. */
  async entryProducts(space: SpacePairing, maps: SpaceMaps): Promise<EntryProduct[]> {
    const tasks = this.tasks(space, maps, 'entry');
    const parts = new Map((this.occurrences.get(space.baseSpace) ?? []).map((o) => [o.key, o] as const));
    const out: EntryProduct[] = [];
    let k = 0;
    for await (const product of this.runner.products(tasks)) {
      const task = tasks[k++];
      const occ = parts.get(task.key)!;
      out.push({
        basePart: occ.basePart,
        targetPart: occ.targetPart,
        rows: task.rows,
        cols: task.cols,
        product,
      });
    }
    return out;
  }

  /**
   * The occurrence tasks of `space` under `maps`: by units (`rows × cols` = widths, each unit's block folded into
   * the depth) or by entries (each unit's block entries as rows and columns). Empty products are left out.
   */
  tasks(
    space: SpacePairing,
    maps: SpaceMaps,
    level: 'unit' | 'entry',
    counts: (pair: TensorPairing) => boolean = () => true,
  ): OccurrenceProductTask[] {
    const out: OccurrenceProductTask[] = [];
    for (const occ of this.occurrences.get(space.baseSpace) ?? []) {
      if (!counts(occ.pair)) continue;
      const baseLength = space.baseWidth * occ.block;
      const targetLength = space.targetWidth * occ.targetBlock;
      const rows = level === 'unit' ? space.baseWidth : baseLength;
      const cols = level === 'unit' ? space.targetWidth : targetLength;
      if (rows === 0 || cols === 0) continue;
      const { pair, axis } = occ;
      const shapes = this.tensors.shapes(pair);
      const targetIndices = pair.baseAxes.map((baseAxis, k) =>
        k === axis
          ? rangeIndex(occ.targetOffset, targetLength)
          : axisIndex(
              baseAxis,
              pair.targetAxes[k],
              shapes.base[k],
              shapes.target[k],
              maps,
              this.kernel,
              `tensor '${pair.targetName}' axis ${k}`,
            ),
      );
      out.push({
        key: occ.key,
        baseName: pair.baseName,
        targetName: pair.targetName,
        axis,
        baseOffset: occ.baseOffset,
        baseLength,
        targetIndices,
        rows,
        cols,
        wholeMatrix: isWholeAxisOfMatrix(occ),
      });
    }
    return out;
  }

  /** The pairs any of `spaces` occurs in (each once, nested levels included). */
  pairsTouching(spaces: readonly string[]): TensorPairing[] {
    const wanted = new Set(spaces);
    return this.pairs.filter((pair) => pairTouches(pair, wanted));
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
