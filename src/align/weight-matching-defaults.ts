import type { WeightMatchingOptions } from './weight-matching.js';

/** Weight matching's defaults, apart from weight-matching.ts so that reading them loads no solver. */
export const DEFAULT_WEIGHT_MATCHING: WeightMatchingOptions = {
  tolerance: 1e-9,
  maxSweeps: 100,
  order: 'network',
  seed: 0,
  kernel: 'incompatible',
  init: 'identity',
};
