import type { Dataset } from '../data/dataset.js';
import {
  type StatisticsModel,
  type StatisticsOptions,
  spaceCorrelations,
} from '../eval/activation-statistics.js';
import { solveLinearAssignment } from '../solver/linear-assignment.js';
import type { AlignmentPlan } from './alignment-problem.js';
import { identitySpaceMap, identityWithTruncation, type SpaceMap } from './space-map.js';
import type { WeightMatchingResult } from './weight-matching.js';

/** Unlabelled examples both models read, and how many of them to use. */
export interface ActivationProbe {
  readonly data: Dataset;
  readonly options?: StatisticsOptions;
}

/**
 * Activation matching (MAL §2 and §7): each free space's map is the rectangular assignment that maximises the
 * summed Pearson correlation between base units and the target units sent onto them, measured on the same
 * examples run through both models. Spaces are independent given the correlations, so one assignment per space
 * is exact; the width cases are those of weight matching (the narrower side is zero-padded, fixed spaces keep
 * the identity). The result has weight matching's shape; its objective is the summed correlation of the
 * matched pairs (initial: under identity-with-truncation).
 */
export function activationMatching(
  plan: AlignmentPlan,
  base: StatisticsModel,
  target: StatisticsModel,
  probe: ActivationProbe,
): WeightMatchingResult {
  const free = plan.spaces.filter((s) => s.kind === 'free');
  const correlations = spaceCorrelations(
    base,
    target,
    free.map((s) => ({ baseSpace: s.baseSpace, targetSpace: s.targetSpace })),
    probe.data,
    probe.options,
  );
  const maps = new Map<string, SpaceMap>();
  let initialObjective = 0;
  let objective = 0;
  for (const s of plan.spaces) {
    const identity = identityWithTruncation(s.baseWidth, s.targetWidth);
    const c = s.kind === 'free' ? correlations.get(s.baseSpace) : undefined;
    if (c === undefined) {
      maps.set(s.baseSpace, identitySpaceMap(s));
      continue;
    }
    const map = solveLinearAssignment(c.correlation, s.baseWidth, s.targetWidth, { maximize: true });
    initialObjective += matchedSum(c.correlation, identity, s.targetWidth);
    objective += matchedSum(c.correlation, map, s.targetWidth);
    maps.set(s.baseSpace, { ...s, map });
  }
  return { init: 'identity', maps, initialObjective, objective, sweeps: 1, converged: true, steps: [] };
}

function matchedSum(correlation: Float64Array, map: Int32Array, targetWidth: number): number {
  let total = 0;
  map.forEach((j, i) => {
    if (j >= 0) total += correlation[i * targetWidth + j];
  });
  return total;
}
