import { MalError } from '../errors.js';
import { type AlignmentPlan, pairTouches, type TensorPairing } from './alignment-problem.js';

/** Node.js, onnxruntime's sessions and the solver's module, measured on an idle `mal align` (about 0.3 GB). */
export const PROCESS_BYTES = 400 * 2 ** 20;

/**
 * What is kept between uses when no budget is given: small models stay whole, large ones stream. Kept small so
 * that the peak does not depend on depth: a deep model fills the cache, a one-block model barely does.
 */
export const DEFAULT_CACHE_BYTES = 256 * 2 ** 20;

/** What one step of weight matching holds at its peak. */
export interface AlignmentStepMemory {
  readonly space: string;
  /**
   * The cost matrix (float64, built in the solver's own memory; a tall one is held transposed there too) and one
   * product (float32) being added in.
   */
  readonly matrixBytes: number;
  /** The largest pair the step reads: both tensors, the unfolded slices of each, and the raw bytes of one. */
  readonly tensorBytes: number;
}

export interface AlignmentMemoryEstimate {
  /** The least memory the alignment runs in: the largest step plus the process itself. */
  readonly workingBytes: number;
  readonly largestStep: AlignmentStepMemory;
  readonly processBytes: number;
}

export class MemoryBudgetError extends MalError {
  override readonly name = 'MemoryBudgetError';
}

type Shapes = (pair: TensorPairing) => {
  readonly base: readonly number[];
  readonly target: readonly number[];
};

const elements = (shape: readonly number[]) => shape.reduce((n, d) => n * d, 1);

/**
 * The pre-flight estimate of streamed weight matching, from the plan and the tensors' shapes alone: the peak is
 * the widest step (its cost matrix and its largest tensor pair), whatever the depth of the models, because
 * tensors are read when a step needs them and dropped after.
 */
export function estimateAlignmentMemory(plan: AlignmentPlan, shapes: Shapes): AlignmentMemoryEstimate {
  let largest: AlignmentStepMemory = { space: '(none)', matrixBytes: 0, tensorBytes: 0 };
  for (const space of plan.spaces) {
    if (space.kind !== 'free' || space.parent !== undefined) continue;
    const members = new Set([
      space.baseSpace,
      ...plan.spaces.filter((s) => s.parent?.space === space.baseSpace).map((s) => s.baseSpace),
    ]);
    const touching = plan.pairs.filter((pair) => pairTouches(pair, members));
    const cells = space.baseWidth * space.targetWidth;
    let tensorBytes = 0;
    let entryProductBytes = 0;
    for (const pair of touching) {
      const { base, target } = shapes(pair);
      // Base, target, a slice of each (the mapped target is base-sized), and the bytes read (at most float32).
      tensorBytes = Math.max(tensorBytes, 4 * (3 * elements(base) + 2 * elements(target)));
      // A nested step holds every entry-level product of its occurrences at once.
      if (members.size === 1) continue;
      pair.baseAxes.forEach((axis, k) => {
        (axis ?? []).forEach((part, p) => {
          if (part.space !== space.baseSpace) return;
          const targetBlock = pair.targetAxes[k]?.[p]?.block ?? part.block;
          entryProductBytes += 4 * space.baseWidth * part.block * space.targetWidth * targetBlock;
        });
      });
    }
    // The solver holds a tall problem (more base units than target units) a second time, transposed.
    const costBytes = space.baseWidth > space.targetWidth ? 16 : 8;
    const matrixBytes = cells * (costBytes + 4) + entryProductBytes;
    if (matrixBytes + tensorBytes > largest.matrixBytes + largest.tensorBytes)
      largest = { space: space.baseSpace, matrixBytes, tensorBytes };
  }
  return {
    workingBytes: PROCESS_BYTES + largest.matrixBytes + largest.tensorBytes,
    largestStep: largest,
    processBytes: PROCESS_BYTES,
  };
}

/**
 * How much may be kept between uses under a budget of `memoryBytes` in all: what the estimate leaves. A budget
 * below the estimate is refused before anything is read, naming the step that needs the memory.
 */
export function cacheBytesWithin(estimate: AlignmentMemoryEstimate, memoryBytes: number | undefined): number {
  if (memoryBytes === undefined) return DEFAULT_CACHE_BYTES;
  const left = memoryBytes - estimate.workingBytes;
  if (left < 0) {
    const step = estimate.largestStep;
    throw new MemoryBudgetError(
      `--memory ${formatGiB(memoryBytes)} is below what this alignment needs: ${formatGiB(estimate.workingBytes)} ` +
        `(space '${step.space}': ${formatGiB(step.matrixBytes)} of cost matrices, ${formatGiB(step.tensorBytes)} ` +
        `for its largest tensor pair, ${formatGiB(estimate.processBytes)} for the process); raise --memory`,
    );
  }
  return left;
}

/** GiB to two decimals; small amounts (a budget given in bytes, say) as MiB or bytes. */
export function formatGiB(bytes: number): string {
  if (bytes >= 2 ** 30 / 100) return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
  if (bytes >= 2 ** 20 / 100) return `${(bytes / 2 ** 20).toFixed(2)} MiB`;
  return `${bytes} bytes`;
}
