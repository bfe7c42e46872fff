import { type AlignmentProblem, planAlignment, withTensors } from '../../src/align/alignment-problem.js';
import type { ModelInMemory } from '../../src/assembly/candidate-alignment.js';
import type { Candidate } from '../../src/assembly/candidates.js';
import { pairUnitTensors, transplantUnits } from '../../src/assembly/transplant-units.js';

/**
 * The (base, zoo) tensor pairs a candidate's alignment reads, found the way alignCandidate finds them; undefined
 * when the units do not pair (the worker then reports why, with alignCandidate's own message).
 */
export function candidateTensorPairs(
  base: ModelInMemory,
  zoo: ModelInMemory,
  candidate: Candidate,
): [string, string][] | undefined {
  if (candidate.layers.length !== candidate.baseLayers.length) return undefined;
  const baseUnits = new Map(transplantUnits(base.spec).map((u) => [u.name, u]));
  const zooUnits = new Map(transplantUnits(zoo.spec).map((u) => [u.name, u]));
  const pairs: [string, string][] = [];
  for (let i = 0; i < candidate.layers.length; i++) {
    const b = baseUnits.get(candidate.baseLayers[i]);
    const z = zooUnits.get(candidate.layers[i]);
    const unitPairs = b === undefined || z === undefined ? undefined : pairUnitTensors(b, z);
    if (unitPairs === undefined) return undefined;
    pairs.push(...unitPairs);
  }
  return pairs;
}

/** The alignment problem of a candidate, rebuilt here from the pairs so a remote alignment needs no tensors back. */
export function candidateProblem(
  base: ModelInMemory,
  zoo: ModelInMemory,
  pairs: readonly [string, string][],
): AlignmentProblem {
  return withTensors(planAlignment(base, zoo, pairs), base.tensors, zoo.tensors);
}
