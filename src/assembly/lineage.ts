/**
 * What an assembly run records (MAL §6): every step, accepted or not, with enough to audit and to replay it.
 * Written as lineage.json in the output folder and read by the report.
 */
export interface Lineage {
  readonly version: 1;
  readonly plan: string;
  /** The plan's options as run, defaults filled in. */
  readonly options: Readonly<Record<string, unknown>>;
  readonly backend: string;
  readonly base: { readonly path: string; readonly sha256: string };
  readonly zoo: readonly { readonly id: string; readonly sha256: string }[];
  /** Zoo models the run could not use (unreadable, incompatible, non-finite or corrupt weights), with the reason. */
  readonly skipped: readonly { readonly id: string; readonly reason: string }[];
  readonly tasks: readonly {
    readonly name: string;
    readonly data: string;
    readonly metric: string;
    readonly weight: number;
  }[];
  /** The objective and per-task values of the original base. */
  readonly initial: Evaluated;
  /** The best single zoo model on the objective (only models the base's tasks can evaluate). */
  readonly bestZooModel?: { readonly id: string } & Evaluated;
  readonly steps: readonly LineageStep[];
  readonly final: Evaluated & { readonly sha256: string };
  readonly stopReason: string;
}

export interface Evaluated {
  readonly objective: number;
  readonly tasks: readonly TaskResult[];
}

export interface TaskResult {
  readonly name: string;
  readonly loss: number;
  readonly accuracy: number;
}

export interface CandidateRef {
  /** Zoo model id. */
  readonly model: string;
  readonly modelSha256: string;
  /** Zoo model layers transplanted, paired in order with `baseLayers`. */
  readonly layers: readonly string[];
  readonly baseLayers: readonly string[];
}

export interface CurvePoint extends Evaluated {
  readonly lambda: number;
}

export interface ScoredCandidate {
  readonly candidate: CandidateRef;
  /** The pre-score that ranked it (higher is better): minus the probe objective, or the weight cosine. */
  readonly preScore: number;
  /** sha256 of each space's map, by base space. */
  readonly mapHashes: Readonly<Record<string, string>>;
  readonly curve: readonly CurvePoint[];
  readonly threshold: number;
  readonly lambda: number;
  readonly objectiveAtLambda: number;
  /** Why it was not eligible, if it was not (λ* too small, no improvement, a floor broken). */
  readonly rejected?: string;
}

export interface LineageStep {
  readonly index: number;
  /** sha256 of the state before and after the step (the model's tensors as safetensors bytes). */
  readonly stateBefore: string;
  readonly stateAfter: string;
  readonly objectiveBefore: number;
  readonly objectiveAfter: number;
  readonly accepted: ScoredCandidate | null;
  /** Every candidate scored along the grid in this step. */
  readonly scored: readonly ScoredCandidate[];
  /** Candidates pruned by the pre-score, with their scores. */
  readonly pruned: readonly { readonly candidate: CandidateRef; readonly preScore: number }[];
  /** Candidates that could not be aligned (incompatible spaces, bad tensors), with the reason. */
  readonly failed: readonly { readonly candidate: CandidateRef; readonly reason: string }[];
  readonly seconds: number;
}
