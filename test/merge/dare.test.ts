import { describe, expect, it } from 'vitest';
import { IncompatibleModelsError } from '../../src/errors.js';
import { dare, dropAndRescale } from '../../src/merge/dare.js';
import { InvalidMergeOptionError } from '../../src/merge/merge-options-error.js';
import { SeededRandom } from '../../src/random/seeded-random.js';

function plus(base: Float32Array, delta: number[]): Float32Array {
  return new Float32Array(delta.map((d, j) => base[j] + d));
}

/** 64 dyadic entries, so a rescale by 2 or 4 is exact in float32. */
const delta = new Float32Array(Array.from({ length: 64 }, (_, j) => (j % 2 === 0 ? 1 : -1) * 0.25 * (j + 1)));

describe('dropAndRescale', () => {
  it('zeroes dropped entries and multiplies survivors by exactly 1/(1−p)', () => {
    for (const [p, factor] of [
      [0.5, 2],
      [0.75, 4],
    ]) {
      const out = dropAndRescale(delta, p, new SeededRandom(7));
      let survivors = 0;
      for (let j = 0; j < delta.length; j++) {
        if (out[j] === 0) continue;
        expect(out[j]).toBe(delta[j] * factor);
        survivors++;
      }
      expect(survivors).toBeGreaterThan(0);
      expect(survivors).toBeLessThan(delta.length);
    }
  });

  it('drops exactly the entries whose draw is below p', () => {
    // The documented contract: one next() per entry, in order; an entry survives when the draw is ≥ p.
    const draws = new SeededRandom(11);
    const expected = Array.from(delta, (d) => (draws.next() >= 0.5 ? d * 2 : 0));
    expect(Array.from(dropAndRescale(delta, 0.5, new SeededRandom(11)))).toEqual(expected);
  });

  it('is the identity at p = 0', () => {
    expect(Array.from(dropAndRescale(delta, 0, new SeededRandom(1)))).toEqual(Array.from(delta));
  });
});

describe('dare', () => {
  const base = new Float32Array([1, 1, 1, 1]);
  // τ1 = [1, 0, −1, 0], τ2 = [0, 2, 0, −2]
  const models = [plus(base, [1, 0, -1, 0]), plus(base, [0, 2, 0, -2])];

  it('equals task arithmetic at p = 0 (dare_linear)', () => {
    // base + 1·τ1 + 0.5·τ2 = [2, 2, 0, 0]
    const out = dare(base, models, {
      tensorName: 'w',
      dropProbability: 0,
      seed: 3,
      combination: 'linear',
      weights: [1, 0.5],
    });
    expect(Array.from(out)).toEqual([2, 2, 0, 0]);
  });

  it('applies TIES sign election at p = 0 (dare_ties)', () => {
    // τ1 = [2, −1], τ2 = [−3, 1]: entry 0 sums to −1 → only τ2 agrees → −3; entry 1 sums to 0 → '+' → τ2 → 1
    const b = new Float32Array([0, 0]);
    const out = dare(b, [new Float32Array([2, -1]), new Float32Array([-3, 1])], {
      tensorName: 'w',
      dropProbability: 0,
      seed: 3,
      combination: 'ties',
    });
    expect(Array.from(out)).toEqual([-3, 1]);
    // dare_linear on the same vectors simply sums them: [−1, 0]
    const linear = dare(b, [new Float32Array([2, -1]), new Float32Array([-3, 1])], {
      tensorName: 'w',
      dropProbability: 0,
      seed: 3,
      combination: 'linear',
    });
    expect(Array.from(linear)).toEqual([-1, 0]);
  });

  it('combines the survivors drawn from one generator, models in order', () => {
    const draws = new SeededRandom(5);
    const keep1 = [0, 1, 2, 3].map(() => draws.next() >= 0.5);
    const keep2 = [0, 1, 2, 3].map(() => draws.next() >= 0.5);
    const tau1 = [1, 0, -1, 0];
    const tau2 = [0, 2, 0, -2];
    // survivors doubled, weights [1, 0.5]
    const expected = tau1.map(
      (_, j) => 1 + (keep1[j] ? 2 * tau1[j] : 0) + 0.5 * (keep2[j] ? 2 * tau2[j] : 0),
    );
    const out = dare(base, models, {
      tensorName: 'w',
      dropProbability: 0.5,
      seed: 5,
      combination: 'linear',
      weights: [1, 0.5],
    });
    expect(Array.from(out)).toEqual(expected);
  });

  it('is deterministic for a seed and varies across seeds', () => {
    const wide = new Float32Array(256);
    const tuned = [wide.map((_, j) => Math.sin(j)), wide.map((_, j) => Math.cos(j))];
    const options = { tensorName: 'w', dropProbability: 0.3, combination: 'ties' as const };
    const first = dare(wide, tuned, { ...options, seed: 42 });
    const again = dare(wide, tuned, { ...options, seed: 42 });
    const other = dare(wide, tuned, { ...options, seed: 43 });
    expect(Array.from(again)).toEqual(Array.from(first));
    expect(Array.from(other)).not.toEqual(Array.from(first));
  });

  it('matches task arithmetic in expectation (fixed seeds 0..1999)', () => {
    const b = new Float32Array([0.5, -1, 2, 0]);
    const tau1 = [1, -2, 0.5, 3];
    const tau2 = [-1, 1, 2, -0.5];
    const weights = [1, 0.5];
    const tuned = [plus(b, tau1), plus(b, tau2)];
    const p = 0.5;
    const seeds = 2000;
    const sum = new Float64Array(4);
    for (let seed = 0; seed < seeds; seed++) {
      const out = dare(b, tuned, {
        tensorName: 'w',
        dropProbability: p,
        seed,
        combination: 'linear',
        weights,
      });
      for (let j = 0; j < 4; j++) sum[j] += out[j];
    }
    for (let j = 0; j < 4; j++) {
      // E = base + Σ wᵢτᵢ; each rescaled entry has variance τ²·p/(1−p), so the mean of `seeds` runs has
      // σ = sqrt(p/(1−p) · Σ wᵢ²τᵢ² / seeds); 6σ bounds the (deterministic, fixed-seed) error with room to spare.
      const expected = b[j] + weights[0] * tau1[j] + weights[1] * tau2[j];
      const variance = (p / (1 - p)) * (weights[0] ** 2 * tau1[j] ** 2 + weights[1] ** 2 * tau2[j] ** 2);
      const sigma = Math.sqrt(variance / seeds);
      expect(Math.abs(sum[j] / seeds - expected)).toBeLessThan(6 * sigma);
    }
  });

  it('rejects mismatched lengths and bad options', () => {
    const options = { tensorName: 'mlp.up', dropProbability: 0.5, seed: 1, combination: 'linear' as const };
    expect(() => dare(base, [new Float32Array(2)], options)).toThrow(IncompatibleModelsError);
    expect(() => dare(base, [new Float32Array(2)], options)).toThrow(/'mlp\.up'/);
    for (const dropProbability of [1, -0.1, 1.5, Number.NaN]) {
      expect(() => dare(base, models, { ...options, dropProbability })).toThrow(
        /'dropProbability' must be in \[0, 1\)/,
      );
    }
    expect(() => dare(base, models, { ...options, seed: Number.NaN })).toThrow(InvalidMergeOptionError);
    expect(() => dare(base, models, { ...options, weights: [1] })).toThrow(/'weights' has 1 entries but 2/);
    expect(() => dare(base, models, { ...options, lambda: Number.POSITIVE_INFINITY })).toThrow(
      /'lambda' must be finite/,
    );
  });
});
