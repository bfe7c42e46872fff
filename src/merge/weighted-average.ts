import { InvalidMergeOptionError } from './merge-options-error.js';
import { assertSameLength, assertWeights, modelLabels } from './merge-validation.js';

export interface WeightedAverageOptions {
  /** Names the tensor in error messages. */
  readonly tensorName: string;
  /** Divide by the sum of the weights (mergekit's `linear` default). Default true. */
  readonly normalize?: boolean;
}

/**
 * Σ wᵢθᵢ, divided by Σ wᵢ when normalising — mergekit's `linear` method on one tensor. Accumulates in float64 so
 * the order of the models does not change the float32 result beyond its final rounding.
 */
export function weightedAverage(
  tensors: readonly Float32Array[],
  weights: readonly number[],
  { tensorName, normalize = true }: WeightedAverageOptions,
): Float32Array {
  if (tensors.length === 0)
    throw new InvalidMergeOptionError('tensors', 'needs at least one model', tensorName);
  assertWeights(tensorName, weights, tensors.length);
  const length = assertSameLength(tensorName, tensors, modelLabels(tensors.length));

  let divisor = 1;
  if (normalize) {
    const sum = weights.reduce((s, w) => s + w, 0);
    const magnitude = weights.reduce((s, w) => s + Math.abs(w), 0);
    // Weights that cancel would blow the average up by an arbitrary factor rather than average anything.
    if (Math.abs(sum) <= 1e-6 * magnitude) {
      throw new InvalidMergeOptionError(
        'weights',
        `sum to ${sum}, so they cannot be normalised; use non-cancelling weights or normalize: false`,
        tensorName,
      );
    }
    divisor = sum;
  }

  const out = new Float32Array(length);
  for (let j = 0; j < length; j++) {
    let acc = 0;
    for (let i = 0; i < tensors.length; i++) acc += weights[i] * tensors[i][j];
    out[j] = acc / divisor;
  }
  return out;
}
