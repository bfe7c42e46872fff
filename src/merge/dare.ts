import { SeededRandom } from '../random/seeded-random.js';
import {
  assertFinite,
  assertInInterval,
  assertSameLength,
  assertWeights,
  modelLabels,
} from './merge-validation.js';
import { combineTaskVectors, taskVector } from './task-vector-combination.js';

/** How DARE's rescaled task vectors are combined: summed (mergekit's `dare_linear`) or TIES sign election (`dare_ties`). */
export type DareCombination = 'linear' | 'ties';

export interface DareOptions {
  /** Names the tensor in error messages. */
  readonly tensorName: string;
  /** Probability p of dropping each entry of each task vector, in [0, 1). mergekit's density is 1 − p. */
  readonly dropProbability: number;
  /**
   * Seeds the drops. Use a different seed per tensor (e.g. derived from the tensor's name), or tensors of one shape
   * get the same drop pattern.
   */
  readonly seed: number;
  readonly combination: DareCombination;
  /** One per fine-tuned model; default all 1. */
  readonly weights?: readonly number[];
  /** Scale of the merged task vector; default 1. */
  readonly lambda?: number;
  /** Divide by the summed weights; default false, as in mergekit's dare_linear and dare_ties. */
  readonly normalize?: boolean;
}

/**
 * DARE's drop-and-rescale (Yu et al. 2023): each entry is dropped with probability p and survivors are divided by
 * 1 − p, so every entry keeps its expectation. Draws one `random.next()` per entry, in order, when p > 0; an entry
 * survives when the draw is ≥ p.
 */
export function dropAndRescale(
  delta: Float32Array,
  dropProbability: number,
  random: SeededRandom,
): Float32Array {
  if (dropProbability === 0) return delta.slice();
  const keepProbability = 1 - dropProbability;
  const out = new Float32Array(delta.length);
  for (let j = 0; j < delta.length; j++) {
    if (random.next() >= dropProbability) out[j] = delta[j] / keepProbability;
  }
  return out;
}

/**
 * DARE on one tensor, as mergekit's `dare_linear` / `dare_ties`: τᵢ = θᵢ − base, drop-and-rescale each τᵢ (one
 * generator seeded with `seed`, models in order), then combine — linearly, or with TIES sign election and disjoint
 * merge — and add λ times the result to the base.
 */
export function dare(
  base: Float32Array,
  finetuned: readonly Float32Array[],
  options: DareOptions,
): Float32Array {
  const { tensorName, dropProbability, seed, combination, lambda = 1, normalize = false } = options;
  const weights = options.weights ?? finetuned.map(() => 1);
  assertWeights(tensorName, weights, finetuned.length);
  assertFinite(tensorName, 'lambda', lambda);
  assertInInterval(tensorName, 'dropProbability', dropProbability, 0, 1, {
    lowClosed: true,
    highClosed: false,
  });
  assertFinite(tensorName, 'seed', seed);
  assertSameLength(tensorName, [base, ...finetuned], ['base', ...modelLabels(finetuned.length)]);

  const random = new SeededRandom(seed);
  const rescaled = finetuned.map((theta) => dropAndRescale(taskVector(theta, base), dropProbability, random));
  return combineTaskVectors(base, rescaled, weights, {
    signConsensus: combination === 'ties',
    normalize,
    lambda,
  });
}
