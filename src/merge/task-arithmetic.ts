import { assertSameLength, assertWeights, modelLabels } from './merge-validation.js';

export interface TaskArithmeticOptions {
  /** Names the tensor in error messages. */
  readonly tensorName: string;
}

/**
 * Task arithmetic (Ilharco et al. 2023): base + Σ wᵢ(θᵢ − base), where `base` is the common ancestor the
 * fine-tuned models started from. Not normalised, as in mergekit's `task_arithmetic`: a weight of 1 adds the
 * whole task vector, a negative weight subtracts it.
 */
export function taskArithmetic(
  base: Float32Array,
  finetuned: readonly Float32Array[],
  weights: readonly number[],
  { tensorName }: TaskArithmeticOptions,
): Float32Array {
  assertWeights(tensorName, weights, finetuned.length);
  const length = assertSameLength(
    tensorName,
    [base, ...finetuned],
    ['base', ...modelLabels(finetuned.length)],
  );

  const out = new Float32Array(length);
  for (let j = 0; j < length; j++) {
    const b = base[j];
    let delta = 0;
    for (let i = 0; i < finetuned.length; i++) delta += weights[i] * (finetuned[i][j] - b);
    out[j] = b + delta;
  }
  return out;
}
