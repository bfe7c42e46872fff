import type { AlignmentSettings } from '../assembly/assembly-plan.js';
import type { BackendName } from '../compute/backend-preference.js';
import type { UnmatchedPolicy } from '../merge/mal-interpolation.js';
import type { StudyModelInfo, StudyPosition } from './study-row.js';

/*
 * One cell of a study, as plain JSON: everything a worker anywhere needs to measure it, and nothing that
 * depends on where it runs except the models' paths. The cell's content address (studyCellAddress) is computed
 * from this description with the paths left out, so the same cell measured embedded or on a cluster, from any
 * folder, has the same address, and a finished address is never measured again.
 */

/** A model of the cell: where its weights file is, and what the table says about it. */
export interface StudyCellModel extends StudyModelInfo {
  /** Absolute path of the weights file (not part of the address: sha256 is). */
  readonly path: string;
  /** Absolute path of a spec file given in the zoo, if any (not part of the address). */
  readonly specPath?: string;
}

export interface StudyCell {
  readonly base: StudyCellModel;
  readonly target: StudyCellModel;
  readonly position: StudyPosition;
  /** Base layers replaced, in order, and the target layers put in their place (same length). */
  readonly baseLayers: readonly string[];
  readonly targetLayers: readonly string[];
  /** Weight matching before interpolation (true) or identity maps, truncated or zero-padded (false). */
  readonly aligned: boolean;
  readonly alignment: AlignmentSettings;
  /** Seed of the alignment's random choices. */
  readonly seed: number;
  /** The evaluation data: a data-source string and the first `limit` examples of it. */
  readonly evalData: string;
  readonly evalLimit: number;
  readonly batchSize: number;
  /** The λ grid, from 0 to 1. */
  readonly grid: readonly number[];
  /** ε of λ* as a fraction of L(0). */
  readonly epsilonFraction: number;
  readonly unmatched: UnmatchedPolicy;
  /**
   * The backend the curve is computed on (never `auto`: resolved before the cells are made). Backends differ in
   * the last bits, so it is part of the address, and a cluster worker running another backend refuses the cell.
   */
  readonly backend: BackendName;
}
