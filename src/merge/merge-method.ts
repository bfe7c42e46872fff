import { dare } from './dare.js';
import { malInterpolate, type UnmatchedPolicy } from './mal-interpolation.js';
import { InvalidMergeOptionError } from './merge-options-error.js';
import { slerp } from './slerp.js';
import { taskArithmetic } from './task-arithmetic.js';
import { ties } from './ties.js';

/**
 * How a base tensor and the target tensor mapped into its frame become one. `mal` is MAL's interpolation and works
 * across widths; the others are the usual homogeneous operators (mergekit's), for models of equal widths after
 * alignment. `task-arithmetic`, `ties` and `dare-*` read task vectors against a common ancestor: the base keeps its
 * own task vector and the target's is added with weight λ.
 */
export const MERGE_METHODS = ['mal', 'slerp', 'task-arithmetic', 'ties', 'dare-linear', 'dare-ties'] as const;
export type MergeMethod = (typeof MERGE_METHODS)[number];

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
  return (
    method === 'task-arithmetic' || method === 'ties' || method === 'dare-linear' || method === 'dare-ties'
  );
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
  const { method, lambda } = settings;
  if (method === 'mal') return malInterpolate(base, mapped, lambda, settings.unmatched, matched);
  if (method === 'slerp') return slerp(base, mapped, lambda, { tensorName });
  if (ancestor === undefined) {
    throw new InvalidMergeOptionError('ancestor', `is required by method '${method}'`, tensorName);
  }
  const models = [base, mapped];
  const weights = [1, lambda];
  switch (method) {
    case 'task-arithmetic':
      return taskArithmetic(ancestor, models, weights, { tensorName });
    case 'ties':
      return ties(ancestor, models, { tensorName, density: settings.density, weights });
    case 'dare-linear':
    case 'dare-ties':
      return dare(ancestor, models, {
        tensorName,
        dropProbability: settings.dropProbability,
        seed: (settings.seed + Math.imul(tensorIndex + 1, 0x9e3779b1)) >>> 0,
        combination: method === 'dare-ties' ? 'ties' : 'linear',
        weights,
      });
  }
}
