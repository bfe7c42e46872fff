import type { UnmatchedPolicy } from './mal-interpolation.js';
import {
  MERGE_METHOD_NAMES,
  type MergeMethodChoice,
  type MergeMethodName,
  mergeMethod,
  mergeTensorWith,
  parseMergeMethodChoice,
} from './merge-method-registry.js';

/**
 * The command line's flat view of the registry (`src/merge/merge-method-registry.ts`): how a base tensor and the
 * target tensor mapped into its frame become one. `mal` is MAL's interpolation and works across widths; the others
 * are the usual homogeneous operators (mergekit's), for models of equal widths after alignment.
 * `task-arithmetic`, `ties` and `dare-*` read task vectors against a common ancestor: the base keeps its own task
 * vector and the target's is added with weight λ. New code should use the registry's method choices.
 */
export const MERGE_METHODS = MERGE_METHOD_NAMES;
export type MergeMethod = MergeMethodName;

export interface MergeMethodSettings {
  readonly method: MergeMethod;
  readonly lambda: number;
  readonly unmatched: UnmatchedPolicy;
  /** TIES: fraction of each task vector kept (default 0.5). */
  readonly density: number;
  /** DARE: drop probability (default 0.5). */
  readonly dropProbability: number;
  readonly seed: number;
}

export function methodNeedsAncestor(method: MergeMethod): boolean {
  return mergeMethod(method).needsAncestor;
}

/** The registry's choice for flat settings: the method with those of the settings' parameters it takes. */
export function choiceFromSettings(settings: MergeMethodSettings): MergeMethodChoice {
  const all: Record<string, unknown> = {
    unmatched: settings.unmatched,
    density: settings.density,
    dropProbability: settings.dropProbability,
  };
  const parameters = Object.keys(mergeMethod(settings.method).parameters.shape);
  return parseMergeMethodChoice({
    method: settings.method,
    ...Object.fromEntries(parameters.map((p) => [p, all[p]])),
  });
}

/** Merges one tensor. `tensorIndex` varies DARE's seed per tensor so equal shapes get different drop patterns. */
export function mergeTensor(
  tensorName: string,
  tensorIndex: number,
  base: Float32Array,
  mapped: Float32Array,
  matched: Uint8Array | undefined,
  ancestor: Float32Array | undefined,
  settings: MergeMethodSettings,
): Float32Array {
  return mergeTensorWith(choiceFromSettings(settings), {
    tensorName,
    tensorIndex,
    base,
    mapped,
    matched,
    ancestor,
    lambda: settings.lambda,
    seed: settings.seed,
  });
}
