import { InvalidMergeOptionError } from './merge-options-error.js';
import {
  assertFinite,
  assertInInterval,
  assertSameLength,
  assertWeights,
  modelLabels,
} from './merge-validation.js';
import { combineTaskVectors, taskVector } from './task-vector-combination.js';

export interface TiesOptions {
  /** Names the tensor in error messages. */
  readonly tensorName: string;
  /** Fraction of each task vector's entries kept, by magnitude, in (0, 1]. */
  readonly density: number;
  /** One per fine-tuned model; default all 1. */
  readonly weights?: readonly number[];
  /** Scale of the merged task vector; default 1. */
  readonly lambda?: number;
  /** Divide by the summed weights of the agreeing models (mergekit's TIES default, true). */
  readonly normalize?: boolean;
}

/**
 * Keeps the `floor(density · n)` entries of largest magnitude and zeroes the rest — mergekit's `magnitude`
 * sparsification, per tensor. mergekit picks them with a non-stable argsort, so which of several entries tied at
 * the threshold survive is unspecified there; here the lowest flat indices win, so the result is reproducible.
 * mergekit refuses a density that keeps nothing, and so does this.
 */
export function trimToTopMagnitude(delta: Float32Array, density: number, tensorName: string): Float32Array {
  assertInInterval(tensorName, 'density', density, 0, 1, { lowClosed: false, highClosed: true });
  const n = delta.length;
  if (density >= 1) return delta.slice();
  const keep = Math.trunc(density * n);
  if (keep === 0) {
    if (n === 0) return new Float32Array(0);
    throw new InvalidMergeOptionError(
      'density',
      `${density} keeps floor(${density}·${n}) = 0 of the tensor's ${n} entries; raise it`,
      tensorName,
    );
  }

  const magnitudes = new Float32Array(n);
  for (let j = 0; j < n; j++) magnitudes[j] = Math.abs(delta[j]);
  // A typed-array sort without comparator is numeric and native; the k-th largest magnitude is the threshold.
  const threshold = magnitudes.slice().sort()[n - keep];
  let above = 0;
  for (let j = 0; j < n; j++) if (magnitudes[j] > threshold) above++;
  let tiedQuota = keep - above;

  const trimmed = new Float32Array(n);
  for (let j = 0; j < n; j++) {
    const m = magnitudes[j];
    if (m > threshold) trimmed[j] = delta[j];
    else if (m === threshold && tiedQuota > 0) {
      trimmed[j] = delta[j];
      tiedQuota--;
    }
  }
  return trimmed;
}

/**
 * TIES-merging (Yadav et al. 2023) as mergekit's `ties` method does it on one tensor: task vectors τᵢ = θᵢ − base
 * are trimmed to their top-`density` magnitudes, a sign is elected per entry from the sum of the weighted trimmed
 * τ's, and the agreeing τ's are merged (their weighted mean when normalising) and added to the base times λ.
 */
export function ties(
  base: Float32Array,
  finetuned: readonly Float32Array[],
  options: TiesOptions,
): Float32Array {
  const { tensorName, density, lambda = 1, normalize = true } = options;
  const weights = options.weights ?? finetuned.map(() => 1);
  assertWeights(tensorName, weights, finetuned.length);
  assertFinite(tensorName, 'lambda', lambda);
  assertInInterval(tensorName, 'density', density, 0, 1, { lowClosed: false, highClosed: true });
  assertSameLength(tensorName, [base, ...finetuned], ['base', ...modelLabels(finetuned.length)]);

  const trimmed = finetuned.map((theta) => trimToTopMagnitude(taskVector(theta, base), density, tensorName));
  return combineTaskVectors(base, trimmed, weights, { signConsensus: true, normalize, lambda });
}
