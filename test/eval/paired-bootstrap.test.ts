import { describe, expect, it } from 'vitest';
import { pairedBootstrap } from '../../src/eval/paired-bootstrap.js';
import { SeededRandom } from '../../src/random/seeded-random.js';

describe('pairedBootstrap', () => {
  it('gives the mean difference and an interval around it that shrinks like 1/√n', () => {
    const random = new SeededRandom(7);
    const draw = (n: number) => {
      // b is right on 80 % of examples; a is right wherever b is, plus on a quarter of b's errors (+5 pp).
      const b = Float64Array.from({ length: n }, () => (random.next() < 0.8 ? 1 : 0));
      const a = b.map((v) => (v === 1 || random.next() < 0.25 ? 1 : 0));
      return { a, b };
    };
    const small = draw(1000);
    const large = draw(16000);
    const s = pairedBootstrap(small.a, small.b, { seed: 1 });
    const l = pairedBootstrap(large.a, large.b, { seed: 1 });
    let mean = 0;
    for (let i = 0; i < large.a.length; i++) mean += (large.a[i] - large.b[i]) / large.a.length;
    expect(l.difference).toBeCloseTo(mean, 12);
    expect(l.low).toBeLessThan(l.difference);
    expect(l.high).toBeGreaterThan(l.difference);
    // The difference is Bernoulli(p ≈ 0.05) per example: its 95 % half-width is about 1.96·√(p(1−p)/n).
    const p = l.difference;
    const expectedHalf = 1.96 * Math.sqrt((p * (1 - p)) / large.a.length);
    expect((l.high - l.low) / 2).toBeGreaterThan(0.8 * expectedHalf);
    expect((l.high - l.low) / 2).toBeLessThan(1.2 * expectedHalf);
    expect((s.high - s.low) / (l.high - l.low)).toBeGreaterThan(3);
  });

  it('pairs the examples: equal systems give a zero-width interval', () => {
    const a = Float64Array.from({ length: 500 }, (_, i) => (i % 3 === 0 ? 1 : 0));
    expect(pairedBootstrap(a, a)).toMatchObject({ difference: 0, low: 0, high: 0 });
  });

  it('is reproducible for a seed and refuses lists of different lengths', () => {
    const a = [1, 0, 1, 1, 0, 1];
    const b = [0, 0, 1, 0, 1, 1];
    expect(pairedBootstrap(a, b, { seed: 3 })).toEqual(pairedBootstrap(a, b, { seed: 3 }));
    expect(() => pairedBootstrap(a, b.slice(1))).toThrow(/differ in length \(6 and 5\)/);
  });
});
