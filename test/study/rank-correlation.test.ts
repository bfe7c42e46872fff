import { describe, expect, it } from 'vitest';
import { averageRanks, spearmanCorrelation } from '../../src/study/rank-correlation.js';

describe('averageRanks', () => {
  it('ranks from 1 in increasing order, whatever order the values come in', () => {
    expect(averageRanks([30, 10, 20])).toEqual([3, 1, 2]);
    expect(averageRanks([-1.5, 7, 0])).toEqual([1, 3, 2]);
  });

  it('gives tied values the mean of the ranks they span', () => {
    expect(averageRanks([10, 20, 20, 30])).toEqual([1, 2.5, 2.5, 4]);
    expect(averageRanks([5, 5, 5])).toEqual([2, 2, 2]);
    expect(averageRanks([2, 1, 2, 1, 2])).toEqual([4, 1.5, 4, 1.5, 4]);
  });

  it('ranks infinities at the ends and refuses NaN', () => {
    expect(averageRanks([0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])).toEqual([2, 3, 1]);
    expect(() => averageRanks([1, Number.NaN])).toThrow(/value 1 is NaN/);
  });

  it('handles no values', () => {
    expect(averageRanks([])).toEqual([]);
  });
});

describe('spearmanCorrelation', () => {
  it('is 1 for any increasing relation and −1 for any decreasing one', () => {
    expect(spearmanCorrelation([1, 2, 3, 4], [1, 8, 27, 64])).toBe(1);
    expect(spearmanCorrelation([0.5, 1, 2, 4], [0.9, 0.5, 0.2, 0.1])).toBe(-1);
  });

  it('matches 1 − 6Σd²/(n(n²−1)) without ties', () => {
    // d = [−1, 1, −1, 1, 0], Σd² = 4: ρ = 1 − 24/120 = 0.8.
    expect(spearmanCorrelation([1, 2, 3, 4, 5], [2, 1, 4, 3, 5])).toBeCloseTo(0.8, 12);
    // y ranks [3, 5, 2, 1, 4], d = [−2, −3, 1, 3, 1], Σd² = 24: ρ = 1 − 144/120 = −0.2.
    expect(spearmanCorrelation([1, 2, 3, 4, 5], [30, 50, 20, 10, 40])).toBeCloseTo(-0.2, 12);
  });

  it('is Pearson of average ranks with ties (hand-computed)', () => {
    // y ranks [1, 2, 3.5, 5, 3.5], x ranks [1 … 5]; deviations from 3: Σdxdy = 8, Σdx² = 10, Σdy² = 9.5.
    expect(spearmanCorrelation([1, 2, 3, 4, 5], [5, 6, 7, 8, 7])).toBeCloseTo(8 / Math.sqrt(95), 12);
    // Ties on both sides: x ranks [1.5, 1.5, 3.5, 3.5], y ranks [1, 2, 3, 4]: Σdxdy = 4, Σdx² = 4, Σdy² = 5.
    expect(spearmanCorrelation([0, 0, 1, 1], [1, 2, 3, 4])).toBeCloseTo(4 / Math.sqrt(20), 12);
  });

  it('is symmetric and unchanged by monotone transforms', () => {
    const x = [0.25, 0.5, 1, 2, 4, 0.5];
    const y = [0.9, 0.3, 0.6, 0.1, 0.2, 0.4];
    const rho = spearmanCorrelation(x, y)!;
    expect(spearmanCorrelation(y, x)).toBeCloseTo(rho, 12);
    expect(
      spearmanCorrelation(
        x.map(Math.log2),
        y.map((v) => v ** 3),
      ),
    ).toBeCloseTo(rho, 12);
  });

  it('is undefined when either side is constant or there are fewer than two pairs', () => {
    expect(spearmanCorrelation([1, 1, 1], [1, 2, 3])).toBeUndefined();
    expect(spearmanCorrelation([1, 2, 3], [4, 4, 4])).toBeUndefined();
    expect(spearmanCorrelation([1], [2])).toBeUndefined();
    expect(spearmanCorrelation([], [])).toBeUndefined();
  });

  it('refuses unpaired samples and NaN', () => {
    expect(() => spearmanCorrelation([1, 2], [1])).toThrow(/paired samples, got 2 and 1/);
    expect(() => spearmanCorrelation([1, 2, 3], [1, Number.NaN, 3])).toThrow(/NaN/);
  });
});
