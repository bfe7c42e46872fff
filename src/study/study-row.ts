/*
 * One row of a study's result table: a (base, target, position, alignment) cell of MAL §5's sweep, measured. The
 * table (Arrow and CSV), the report's heat maps and the laws are all computed from these rows and nothing else.
 */

/** Where in the base the transplanted layers sit (MAL §5: the paper's first / middle / last layer study). */
export type StudyPosition = 'first' | 'middle' | 'last' | 'all' | `layer-${number}`;

/**
 * How the two models' training sets relate: the same data, a different dataset of another domain
 * (Fashion-MNIST against MNIST), or different parts of one domain's data (class-biased or disjoint splits).
 */
export type DataRelation = 'same' | 'different' | 'split';

export const DATA_RELATIONS: readonly DataRelation[] = ['same', 'different', 'split'];

/** A model of the study's zoo as the table names it. */
export interface StudyModelInfo {
  /** The zoo id. */
  readonly id: string;
  /** sha256 of the weights file: part of every cell's content address. */
  readonly sha256: string;
  readonly family: string;
  /** Architecture label for heat-map axes, e.g. `mlp-h128x128` (family and hidden widths, no seed or data). */
  readonly arch: string;
  /** Number of transplantable layers. */
  readonly depth: number;
  /** The study's name of the data the model was trained on (a `datasets[].name` of the study file). */
  readonly data: string;
  /** The domain of that data: equal domains with different data names are a `split` relation. */
  readonly domain: string;
}

export interface StudyRow {
  /** Content address of the cell (sha256 hex of its canonical description); the table is sorted by it. */
  readonly cell: string;
  readonly base: string;
  readonly target: string;
  readonly baseArch: string;
  readonly targetArch: string;
  readonly baseFamily: string;
  readonly targetFamily: string;
  readonly baseDepth: number;
  readonly targetDepth: number;
  readonly baseData: string;
  readonly targetData: string;
  readonly relation: DataRelation;
  readonly position: StudyPosition;
  /** Base layers replaced, comma-joined, and the target layers put in their place. */
  readonly baseLayers: string;
  readonly targetLayers: string;
  /**
   * Width of the free (hidden) spaces the transplant touches: the base's and the target's, summed over those
   * spaces, and their ratio target/base (< 1: a narrower layer into a wider base; > 1: wider into narrower).
   */
  readonly baseWidth: number;
  readonly targetWidth: number;
  readonly widthRatio: number;
  /** Whether the target was aligned to the base (weight matching) or interpolated naively (identity maps). */
  readonly aligned: boolean;
  /** The evaluation data (a data-source string) and how many examples were used. */
  readonly evalData: string;
  readonly evalExamples: number;
  /** The curve: λ grid and the loss (mean cross-entropy) and accuracy of the merged model at each λ. */
  readonly lambdas: readonly number[];
  readonly losses: readonly number[];
  readonly accuracies: readonly number[];
  /** MAL §5's summary of the curve (lmc-metrics.ts). */
  readonly meanLoss: number;
  readonly barrier: number;
  /** The merge-factor threshold λ*. */
  readonly threshold: number;
  /** Accuracy of the merged model at λ = 0.5 (interpolated linearly when 0.5 is not on the grid). */
  readonly accuracyAtHalf: number;
}
