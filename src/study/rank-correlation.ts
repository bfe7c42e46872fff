/*
 * Spearman's rank correlation, the statistic the study's laws use for "does λ* rise with the width ratio": it
 * asks only for a monotone relation, so a few extreme ratios or losses cannot dominate it as they would Pearson's.
 */

/**
 * The 1-based rank of each value, ties given the mean of the ranks they span ([10, 20, 20, 30] → [1, 2.5, 2.5, 4]),
 * so tied values count the same whichever order they come in.
 */
export function averageRanks(values: readonly number[]): number[] {
  for (let i = 0; i < values.length; i++) {
    if (Number.isNaN(values[i])) throw new RangeError(`value ${i} is NaN: it has no rank`);
  }
  const order = values.map((_, i) => i).sort((a, b) => values[a] - values[b]);
  const ranks = new Array<number>(values.length);
  let start = 0;
  while (start < order.length) {
    let end = start + 1;
    while (end < order.length && values[order[end]] === values[order[start]]) end++;
    // Positions start … end−1 hold one value: ranks start+1 … end, whose mean is (start + 1 + end) / 2.
    const rank = (start + 1 + end) / 2;
    for (let k = start; k < end; k++) ranks[order[k]] = rank;
    start = end;
  }
  return ranks;
}

/**
 * Spearman's ρ of paired samples: Pearson's correlation of their average ranks, which is exact with ties (the
 * 1 − 6Σd²/(n(n²−1)) shortcut is not). Undefined when it is not defined: fewer than two pairs, or either side
 * constant (no ranking to correlate).
 */
export function spearmanCorrelation(x: readonly number[], y: readonly number[]): number | undefined {
  if (x.length !== y.length) {
    throw new RangeError(`rank correlation needs paired samples, got ${x.length} and ${y.length} values`);
  }
  if (x.length < 2) return undefined;
  const rx = averageRanks(x);
  const ry = averageRanks(y);
  const mean = (x.length + 1) / 2;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < rx.length; i++) {
    const dx = rx[i] - mean;
    const dy = ry[i] - mean;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return undefined;
  // Rounding can push a perfect correlation a hair past ±1.
  return Math.max(-1, Math.min(1, sxy / Math.sqrt(sxx * syy)));
}
