import type { KernelPolicy } from '../align/axis-index.js';
import type { UnmatchedPolicy } from '../merge/mal-interpolation.js';

/**
 * An assembly plan (`mal assemble <plan.yaml>`), after parsing and validation: every path is absolute and every
 * option has its value (defaults filled in), so the plan alone determines the run.
 */
export interface AssemblyPlan {
  /** The plan file, for messages. */
  readonly file: string;
  /** The model being improved: a safetensors file or model folder. */
  readonly base: string;
  readonly zoo: ZooSelection;
  readonly objective: Objective;
  readonly candidates: CandidatePolicy;
  readonly alignment: AlignmentSettings;
  readonly merge: MergeSettings;
  /** Most accepted steps. */
  readonly steps: number;
  readonly seed: number;
  /** Where the assembled model, lineage, model card and report go. */
  readonly output: string;
  readonly data: DataSettings;
  /** TensorFlow.js backend preference (auto unless the plan or --backend says otherwise). */
  readonly backend: string;
}

export interface ZooSelection {
  /** Zoo folder holding zoo.json. */
  readonly path: string;
  /** Only these model ids (all readable models when absent). */
  readonly include?: readonly string[];
  readonly exclude: readonly string[];
}

/** Weighted tasks; the objective is `Σ weight · value` where value is the loss, or −accuracy. Lower is better. */
export interface Objective {
  readonly tasks: readonly ObjectiveTask[];
}

export interface ObjectiveTask {
  /** A data source (`fashion-mnist:val`, `mnist:test`, an Arrow file). */
  readonly data: string;
  readonly metric: 'loss' | 'accuracy';
  readonly weight: number;
  /** Evaluate on the first n examples only. */
  readonly limit?: number;
  /**
   * The floor: how much worse than the original base this task may get (in the metric's units: loss may rise by
   * at most this, accuracy may fall by at most this). Absent: no floor.
   */
  readonly maxDrop?: number;
}

export interface CandidatePolicy {
  /**
   * `same-depth`: each base layer with the zoo layer at the same relative depth, plus whole models of the same
   * depth; `all`: every compatible (base layer, zoo layer) pair; `list`: only `list`.
   */
  readonly policy: 'same-depth' | 'all' | 'list';
  readonly list: readonly ListedCandidate[];
  /** Candidates kept after the pre-score, for scoring along the λ grid. */
  readonly topK: number;
  /**
   * How candidates are ranked before the λ grid. `probe`: the objective of the merge at λ = 0.5 and λ = 1 on the
   * first `probeExamples` examples of each task (two cheap evaluations); `alignment`: the cosine between base and
   * aligned target weights (no data at all, but it favours small layers over whole models).
   */
  readonly preScore: 'probe' | 'alignment';
  readonly probeExamples: number;
}

export interface ListedCandidate {
  readonly model: string;
  /** Zoo model layers, paired in order with `baseLayers`. */
  readonly layers: readonly string[];
  readonly baseLayers: readonly string[];
}

export interface AlignmentSettings {
  readonly init: 'identity' | 'sorted' | 'best';
  readonly order: 'network' | 'random';
  readonly maxSweeps: number;
  readonly tolerance: number;
  readonly kernel: KernelPolicy;
}

export interface MergeSettings {
  readonly unmatched: UnmatchedPolicy;
  readonly grid: readonly number[];
  /** ε of λ* as a fraction of the objective at λ = 0. */
  readonly epsilon: number;
  /** A candidate whose λ* is below this is not accepted. */
  readonly lambdaMin: number;
  /** `threshold`: merge at λ*; `best`: at the grid point up to λ* with the best objective. */
  readonly lambdaChoice: 'threshold' | 'best';
}

export interface DataSettings {
  readonly dataDir?: string;
}
