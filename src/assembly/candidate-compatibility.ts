import { planAlignment } from '../align/alignment-problem.js';
import { MalError } from '../errors.js';
import { assertMethodFitsWidths } from '../merge/merge-method-registry.js';
import type { ModelInMemory } from './candidate-alignment.js';
import { candidateTensorPairs } from './candidate-alignment.js';
import type { Candidate } from './candidates.js';

/** Candidates split into those worth aligning and those whose spaces can never align, with the reason. */
export interface CandidateCompatibility {
  readonly alignable: readonly Candidate[];
  readonly unalignable: readonly { readonly candidate: Candidate; readonly reason: string }[];
}

/**
 * Checks every candidate's spaces once, without solving an assignment: its layers must pair by structure, the
 * spaces they touch must correspond one to one with fixed spaces of equal width, and the merge method must take
 * the widths. What fails here fails in every step (a state keeps the base's shapes), so a run drops it before the
 * first step instead of aligning it again each time.
 */
export function checkCandidateCompatibility(
  base: ModelInMemory,
  zooModel: (id: string) => ModelInMemory,
  candidates: readonly Candidate[],
  mergeMethod: string,
): CandidateCompatibility {
  const alignable: Candidate[] = [];
  const unalignable: { candidate: Candidate; reason: string }[] = [];
  for (const candidate of candidates) {
    try {
      const zoo = zooModel(candidate.model);
      const plan = planAlignment(base, zoo, candidateTensorPairs(base, zoo, candidate));
      assertMethodFitsWidths(mergeMethod, plan.spaces);
      alignable.push(candidate);
    } catch (error) {
      if (!(error instanceof MalError)) throw error;
      unalignable.push({ candidate, reason: error.message });
    }
  }
  return { alignable, unalignable };
}
