import { describe, expect, it } from 'vitest';
import { fillIrwinHallNormal, IRWIN_HALL_NORMAL_BOUND } from '../../src/random/irwin-hall-normal.js';
import { SeededRandom } from '../../src/random/seeded-random.js';

function moments(x: Float32Array): { mean: number; variance: number; kurtosis: number } {
  let mean = 0;
  for (const v of x) mean += v;
  mean /= x.length;
  let m2 = 0;
  let m4 = 0;
  for (const v of x) {
    const d = (v - mean) ** 2;
    m2 += d;
    m4 += d * d;
  }
  m2 /= x.length;
  m4 /= x.length;
  return { mean, variance: m2, kurtosis: m4 / (m2 * m2) };
}

describe('fillIrwinHallNormal', () => {
  it('has the asked mean and standard deviation and a bell shape (kurtosis 2.7, bounded at √12 σ)', () => {
    // More samples than one chunk of draws, and not a multiple of it.
    const out = new Float32Array(200_003);
    fillIrwinHallNormal(new SeededRandom(3), out, 0.5, 2);
    const m = moments(out);
    expect(m.mean).toBeCloseTo(2, 2);
    expect(Math.sqrt(m.variance)).toBeCloseTo(0.5, 2);
    expect(m.kurtosis).toBeGreaterThan(2.6);
    expect(m.kurtosis).toBeLessThan(2.8);
    const within = (k: number) => out.filter((v) => Math.abs(v - 2) <= k * 0.5).length / out.length;
    expect(within(1)).toBeGreaterThan(0.66);
    expect(within(1)).toBeLessThan(0.7);
    let widest = 0;
    for (const v of out) widest = Math.max(widest, Math.abs(v - 2));
    expect(widest).toBeLessThanOrEqual(IRWIN_HALL_NORMAL_BOUND * 0.5 + 1e-6);
    expect(widest).toBeGreaterThan(3 * 0.5);
    expect(IRWIN_HALL_NORMAL_BOUND).toBeCloseTo(Math.sqrt(12), 3);
  });

  it('is fixed by the seed, and two draws in a row differ', () => {
    const a = new Float32Array(70_000);
    const b = new Float32Array(70_000);
    const random = new SeededRandom(9);
    fillIrwinHallNormal(random, a);
    fillIrwinHallNormal(new SeededRandom(9), b);
    expect(b).toEqual(a);
    fillIrwinHallNormal(random, b);
    expect(b).not.toEqual(a);
  });
});
