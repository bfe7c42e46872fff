import { IncompatibleModelsError } from '../errors.js';
import { InvalidMergeOptionError } from './merge-options-error.js';

/**
 * Homogeneous merges combine the same tensor of several models entry by entry, so every copy must hold the same
 * number of elements. Returns that common length.
 */
export function assertSameLength(
  tensorName: string,
  tensors: readonly Float32Array[],
  labels: readonly string[],
): number {
  if (tensors.length === 0) return 0;
  const length = tensors[0].length;
  if (tensors.every((t) => t.length === length)) return length;
  const counts = tensors.map((t, i) => `${labels[i]}: ${t.length}`).join(', ');
  throw new IncompatibleModelsError(
    `tensor '${tensorName}': element counts differ across models (${counts}); homogeneous merges need same-shape tensors`,
  );
}

/** Labels 'model 0', 'model 1', … for the error messages of `assertSameLength`. */
export function modelLabels(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `model ${i}`);
}

/** One finite weight per model. */
export function assertWeights(tensorName: string, weights: readonly number[], modelCount: number): void {
  if (weights.length !== modelCount) {
    throw new InvalidMergeOptionError(
      'weights',
      `has ${weights.length} entries but ${modelCount} models are merged`,
      tensorName,
    );
  }
  weights.forEach((w, i) => {
    if (!Number.isFinite(w))
      throw new InvalidMergeOptionError('weights', `[${i}] must be finite, got ${w}`, tensorName);
  });
}

export function assertFinite(tensorName: string, option: string, value: number): void {
  if (!Number.isFinite(value))
    throw new InvalidMergeOptionError(option, `must be finite, got ${value}`, tensorName);
}

/** `value` in the interval from `low` to `high`, each end open or closed as flagged. */
export function assertInInterval(
  tensorName: string,
  option: string,
  value: number,
  low: number,
  high: number,
  { lowClosed, highClosed }: { lowClosed: boolean; highClosed: boolean },
): void {
  const aboveLow = lowClosed ? value >= low : value > low;
  const belowHigh = highClosed ? value <= high : value < high;
  if (!(aboveLow && belowHigh)) {
    const interval = `${lowClosed ? '[' : '('}${low}, ${high}${highClosed ? ']' : ')'}`;
    throw new InvalidMergeOptionError(option, `must be in ${interval}, got ${value}`, tensorName);
  }
}
