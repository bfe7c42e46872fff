import type { CandidateRef } from '../assembly/lineage.js';

/**
 * Whether two references name the same transplant. A lineage read back from JSON holds the accepted candidate and
 * its entry among the scored ones as separate objects, so identity must be by content.
 */
export function sameCandidate(a: CandidateRef, b: CandidateRef): boolean {
  return (
    a.model === b.model &&
    a.modelSha256 === b.modelSha256 &&
    a.layers.length === b.layers.length &&
    a.layers.every((layer, i) => layer === b.layers[i]) &&
    a.baseLayers.length === b.baseLayers.length &&
    a.baseLayers.every((layer, i) => layer === b.baseLayers[i])
  );
}
