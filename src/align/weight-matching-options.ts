import type { KernelPolicy } from './axis-index.js';
import type { CostProductRunner } from './cost-product-runner.js';

export interface WeightMatchingOptions {
  /** Stop when a whole sweep raises the objective by no more than `tolerance · max(1, |objective|)`. */
  readonly tolerance: number;
  readonly maxSweeps: number;
  /** `network`: free spaces in network order every sweep; `random`: a fresh seeded shuffle each sweep. */
  readonly order: 'network' | 'random';
  readonly seed: number;
  readonly kernel: KernelPolicy;
  /**
   * Where coordinate descent starts: `identity` (identity-with-truncation, MAL's default and Git Re-Basin's),
   * `sorted` (units matched by their sorted weights, see sortedWeightInit), or `best`: both, keeping the higher
   * final objective (identity on a tie); `anchored`: identity, but the first sweep solves each space from the
   * tensors whose other spaces are fixed or already solved in that sweep (the unsolved ones would only add noise),
   * which on a deep model usually leaves one sweep of full matrices to confirm it.
   */
  readonly init: 'identity' | 'sorted' | 'best' | 'anchored';
  /** Where the cost-matrix products run (default: in this process); see CostProductRunner. */
  readonly products?: CostProductRunner;
  /**
   * Collect garbage after every step (see collectGarbage): each step drops a cost matrix and products as large as
   * the next step's, so for tensors streamed from the files this keeps the peak at one step's working set.
   */
  readonly collectGarbage?: boolean;
  /** Called after every space update, for progress. */
  readonly onStep?: (step: WeightMatchingStep) => void;
}

export interface WeightMatchingStep {
  readonly sweep: number;
  readonly space: string;
  /**
   * The objective after the step; null after a partial step of an anchored first sweep, which does not measure it
   * (the next full step, or the sweep's end, does).
   */
  readonly objective: number | null;
  /** False when the assignment would have lowered the objective (possible only for a space on two axes of one tensor) and the previous map was kept. */
  readonly accepted: boolean;
  /** Not re-solved: none of the spaces its matrix depends on changed since it was last solved. */
  readonly skipped?: true;
}

/** Weight matching's defaults, apart from weight-matching.ts so that reading them loads no solver. */
export const DEFAULT_WEIGHT_MATCHING: WeightMatchingOptions = {
  tolerance: 1e-9,
  maxSweeps: 100,
  order: 'network',
  seed: 0,
  kernel: 'incompatible',
  init: 'identity',
};
