import { MalError } from '../errors.js';
import { SeededRandom } from '../random/seeded-random.js';

export interface BootstrapInterval {
  /** Mean of `a − b` over the examples (e.g. an accuracy difference as a fraction). */
  readonly difference: number;
  /** The 2.5 % and 97.5 % quantiles of the resampled mean difference (the 95 % percentile interval). */
  readonly low: number;
  readonly high: number;
  readonly resamples: number;
}

/**
 * The paired bootstrap of a per-example score difference (Efron & Tibshirani): resample the examples with
 * replacement, the same draw for both systems, and read the 95 % interval of the mean difference from the
 * percentiles. Pairing matters: two models that err on the same hard examples differ by less than their
 * separate intervals suggest. Seeded, so a report is reproducible.
 */
export function pairedBootstrap(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  options: { readonly resamples?: number; readonly seed?: number } = {},
): BootstrapInterval {
  const n = a.length;
  if (n !== b.length)
    throw new MalError(`paired bootstrap: the two score lists differ in length (${n} and ${b.length})`);
  if (n === 0) throw new MalError('paired bootstrap: no examples');
  const resamples = options.resamples ?? 2000;
  if (!Number.isInteger(resamples) || resamples < 1)
    throw new MalError(`paired bootstrap: resamples must be a positive integer, got ${resamples}`);
  const difference = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    difference[i] = a[i] - b[i];
    total += difference[i];
  }
  const random = new SeededRandom(options.seed ?? 0);
  const means = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += difference[random.int(n)];
    means[r] = sum / n;
  }
  means.sort();
  return {
    difference: total / n,
    low: quantile(means, 0.025),
    high: quantile(means, 0.975),
    resamples,
  };
}

/** Linear interpolation between order statistics (the "type 7" rule of R and NumPy). */
function quantile(sorted: Float64Array, q: number): number {
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.min(sorted.length - 1, below + 1);
  return sorted[below] + (sorted[above] - sorted[below]) * (position - below);
}
