import type { CalibrationKind } from '../eval/calibration.js';

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
  /**
   * Candidates dropped before the first step because their spaces can never align (fixed spaces of other widths,
   * layers of other structure, widths the merge method cannot take); recorded once here, never tried in a step.
   * Absent in lineages written before this check existed.
   */
  readonly unalignable?: readonly { readonly candidate: CandidateRef; readonly reason: string }[];
  readonly tasks: readonly {
    readonly name: string;
    readonly data: string;
    readonly metric: string;
    readonly weight: number;
    /** How the loop scored models on it; absent in lineages from before scoring existed (raw). */
    readonly scoring?: 'calibrated' | 'raw';
  }[];
  /** The objective and per-task values of the original base. */
  readonly initial: Evaluated;
  /** The best single zoo model on the objective (only models the base's tasks can evaluate). */
  readonly bestZooModel?: { readonly id: string } & Evaluated;
  readonly steps: readonly LineageStep[];
  /** The written model: the interpolation's result, calibrated when the plan says so (its sha256 is the file's). */
  readonly final: Evaluated & { readonly sha256: string };
  /** The calibration folded into the written model; absent when the plan calibrates nothing (and in older runs). */
  readonly calibration?: LineageCalibration;
  /** The reference points the result is judged against (absent in lineages written before they existed). */
  readonly baselines?: Baselines;
  readonly stopReason: string;
  /**
   * Heal (plan field `heal`): the written model distilled from the ensemble of the base and the accepted donors,
   * written apart as model-healed.safetensors. It is training, not part of the training-free result. Absent when
   * the plan does not heal (and in lineages written before heal existed).
   */
  readonly heal?: LineageHeal;
}

/** The heal settings as run, with the data source the examples came from. */
export interface HealOptionsRecord {
  readonly steps: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly temperature: number;
  /** The data source of the unlabelled examples (the given one, statistics.data, or the first task's). */
  readonly data: string;
  /** The limit on those examples, when the plan gave one. */
  readonly examples?: number;
  /** Who taught besides the base: the accepted donors, or the whole zoo; absent in older lineages (accepted). */
  readonly teacher?: 'accepted' | 'zoo';
}

export type LineageHeal = HealRecord | HealSkipped;

/** The plan asked for heal but there was nothing to heal from. */
export interface HealSkipped {
  readonly status: 'skipped';
  readonly options: HealOptionsRecord;
  readonly reason: string;
}

/** One member of the teacher ensemble: 'base' (the original base) or a zoo id. */
export interface HealTeacherMember {
  readonly id: string;
  readonly sha256: string;
}

export interface HealRecord {
  readonly status: 'healed';
  /** What made this model: always training by distillation, so no reader mistakes it for a training-free result. */
  readonly trainedBy: 'distillation';
  /** The file beside model.safetensors that holds the healed model. */
  readonly file: string;
  readonly options: HealOptionsRecord;
  readonly teacher: {
    /** The original base and every accepted donor (all donors of a multi-donor step), whose mean logits teach. */
    readonly members: readonly HealTeacherMember[];
    /** Accepted donors left out of the teacher (other classes, no forward pass), with the reason. */
    readonly excluded: readonly { readonly id: string; readonly reason: string }[];
    /** The calibration of the mean logits, fitted on the objective tasks like the calibrated ensemble baseline. */
    readonly calibration: {
      readonly kind: CalibrationKind;
      readonly temperature: number;
      readonly biases: readonly number[];
    };
  };
  /** Unlabelled examples distilled on. */
  readonly examples: number;
  readonly seconds: number;
  /** The distillation loss (KL·T², mean over each step's batch, before its update). */
  readonly loss: {
    readonly first: number;
    readonly last: number;
    readonly min: number;
    /** `history` holds the loss of steps 1, 1 + every, 1 + 2·every, … and the last step. */
    readonly every: number;
    readonly history: readonly { readonly step: number; readonly loss: number }[];
  };
  /** The calibration re-fitted on the objective tasks after distillation and folded into the healed model; absent when the plan calibrates nothing. */
  readonly calibration?: {
    readonly kind: CalibrationKind;
    readonly temperature: number;
    readonly biases: readonly number[];
  };
  /** The healed model on the objective tasks (the same measure as the baselines). */
  readonly objective: Evaluated;
  /** The healed model on the report data, one result per source. */
  readonly report: readonly TaskResult[];
  /** sha256 of model-healed.safetensors. */
  readonly sha256: string;
}

export interface LineageCalibration {
  readonly kind: CalibrationKind;
  readonly temperature: number;
  /** Shift of each class's logit, mean 0. */
  readonly biases: readonly number[];
  /** The objective tasks it was fitted on (weighted by their weights). */
  readonly fittedOn: readonly string[];
  /** The training-free result before calibration: its objective, tasks and state hash. */
  readonly uncalibrated: Evaluated & { readonly sha256: string };
}

export const BASELINE_NAMES = [
  'base',
  'base-calibrated',
  'best-zoo',
  'best-zoo-calibrated',
  'ensemble',
  'ensemble-calibrated',
  'assembled',
  'assembled-calibrated',
  'assembled-healed',
] as const;
export type BaselineName = (typeof BASELINE_NAMES)[number];

/** One model (or ensemble) measured on the objective tasks and on the report data. */
export interface Baseline {
  readonly name: BaselineName;
  /** What it is, for people: "logit ensemble of the base and 4 zoo models, calibrated". */
  readonly label: string;
  /** The models it is made of: 'base', 'assembled' or zoo ids. */
  readonly models: readonly string[];
  /** On the objective tasks (the data every decision was made on; calibrations are fitted there too). */
  readonly objective: Evaluated;
  /** On the report data, which no decision saw: one result per data source. */
  readonly report: readonly TaskResult[];
  /** The calibration applied, for the calibrated ones. */
  readonly calibration?: { readonly temperature: number; readonly biases: readonly number[] };
}

/**
 * (assembled − best calibrated single) / (calibrated ensemble − best calibrated single), in accuracy; the best
 * calibrated single model is the better of the calibrated base and the calibrated best zoo model.
 */
export interface GapClosed {
  /** Which data the accuracies come from: the report data (mean over its sources) or, without any, the objective tasks (weighted mean). */
  readonly on: 'report' | 'objective';
  /** Which baseline stands for the assembled model: the written one (the healed one in `gapClosedHealed`). */
  readonly assembled: BaselineName;
  /** null for a baseline that does not exist (no zoo model the tasks can evaluate). */
  readonly accuracies: {
    readonly assembled: number | null;
    readonly bestSingle: number | null;
    readonly ensemble: number | null;
  };
  /** null when there is no zoo model to compare with or the ensemble does not beat the best single model. */
  readonly value: number | null;
}

export interface Baselines {
  /** The calibration of the calibrated baselines: the plan's, or biases when the plan calibrates nothing. */
  readonly calibration: CalibrationKind;
  /** The report data sources, evaluated only here. */
  readonly report: readonly string[];
  readonly entries: readonly Baseline[];
  /** Zoo models left out of the single-model and ensemble baselines, with the reason (other classes, no forward pass). */
  readonly excluded: readonly { readonly id: string; readonly reason: string }[];
  readonly gapClosed: GapClosed;
  /** The gap closed by the healed model (training, not training-free); present only when heal ran. */
  readonly gapClosedHealed?: GapClosed;
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

/**
 * What ranked a candidate before the λ grid, and on what. `halving`: successive halving over λ and examples (the
 * value is minus its best objective in the last round it took part in); `probe`: minus the best objective at
 * λ = 0.5 and 1 on the first examples; `alignment`: the weight cosine after alignment.
 */
export interface CandidateRanking {
  readonly by: 'halving' | 'probe' | 'alignment';
  /** The value it was ranked by; higher is better. */
  readonly value: number;
  /** halving: the round (from 1) it was last evaluated in, so the round a pruned candidate was dropped in. */
  readonly round?: number;
  /** halving and probe: examples per task its objective was measured on. */
  readonly examples?: number;
  /** halving and probe: the merge factors evaluated in that round. */
  readonly lambdas?: readonly number[];
  /** halving and probe: the merge factor of its best point. */
  readonly lambda?: number;
}

export interface PrunedCandidate {
  readonly candidate: CandidateRef;
  /** The value it was ranked by (higher is better), as `rankedBy.value`. */
  readonly preScore: number;
  /** Absent in lineages written before it was recorded (their preScore was the weight cosine). */
  readonly rankedBy?: CandidateRanking;
}

/** One donor of a step's merge, with the weight its aligned tensors got. */
export interface Donor {
  readonly candidate: CandidateRef;
  /** Its weight wᵢ in θ ← w₀·θ + Σ wᵢ·Tᵢ(θᵢ) (w₀ = 1 − Σ wᵢ), where one weight serves every layer. */
  readonly weight: number;
  /** Its weight per base layer, where a λ per layer was chosen; then `weight` is the shared value it started from. */
  readonly layerWeights?: Readonly<Record<string, number>>;
  readonly mapHashes: Readonly<Record<string, string>>;
}

/**
 * What a step merged beyond the accepted candidate at its λ: a λ per layer (coordinate search after the shared
 * λ) and further donors into the same base layers, each kept only where it improved the objective.
 */
export interface Fusion {
  /** Every donor merged, the accepted candidate first. */
  readonly donors: readonly Donor[];
  /** The objective and per-task values of the merged state (what the step's objectiveAfter is). */
  readonly objective: number;
  readonly tasks: readonly TaskResult[];
  /** Models evaluated to choose the per-layer λ and the donors' weights. */
  readonly evaluations: number;
  /** Donors tried and not kept: the best objective they reached with the weights searched. */
  readonly declined: readonly { readonly candidate: CandidateRef; readonly objective: number }[];
}

export interface ScoredCandidate {
  readonly candidate: CandidateRef;
  /** The value that ranked it (higher is better): minus its objective on a few examples, or the weight cosine. */
  readonly preScore: number;
  /** How `preScore` was measured; absent in lineages written before it was recorded. */
  readonly rankedBy?: CandidateRanking;
  /** sha256 of each space's map, by base space. */
  readonly mapHashes: Readonly<Record<string, string>>;
  readonly curve: readonly CurvePoint[];
  readonly threshold: number;
  readonly lambda: number;
  readonly objectiveAtLambda: number;
  /** Why it was not eligible, if it was not (λ* too small, no improvement, a floor broken). */
  readonly rejected?: string;
  /** On the accepted entry only, when the step merged a λ per layer or several donors. */
  readonly fusion?: Fusion;
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
  /** Candidates pruned before the λ grid, with what they were ranked by. */
  readonly pruned: readonly PrunedCandidate[];
  /** Candidates that could not be aligned (incompatible spaces, bad tensors), with the reason. */
  readonly failed: readonly { readonly candidate: CandidateRef; readonly reason: string }[];
  readonly seconds: number;
}
