import { describe, expect, it } from 'vitest';
import { IncompatibleModelsError } from '../../src/errors.js';
import { InvalidMergeOptionError } from '../../src/merge/merge-options-error.js';
import { ties, trimToTopMagnitude } from '../../src/merge/ties.js';

function plus(base: Float32Array, delta: number[]): Float32Array {
  return new Float32Array(delta.map((d, j) => base[j] + d));
}

describe('trimToTopMagnitude', () => {
  it('keeps the floor(density·n) entries of largest magnitude', () => {
    // n = 6, density 0.5 → 3 kept: |4|, |-3|, |2|
    const delta = new Float32Array([0.5, -3, 2, -1, 4, 0.25]);
    expect(Array.from(trimToTopMagnitude(delta, 0.5, 'w'))).toEqual([0, -3, 2, 0, 4, 0]);
  });

  it('rounds the kept count down', () => {
    // n = 5, density 0.5 → floor(2.5) = 2 kept: |5|, |-4|
    const delta = new Float32Array([1, 5, -4, 2, -3]);
    expect(Array.from(trimToTopMagnitude(delta, 0.5, 'w'))).toEqual([0, 5, -4, 0, 0]);
  });

  it('breaks ties at the threshold by lowest index', () => {
    // n = 6, 3 kept: |3| is above the threshold 2; three entries have magnitude 2 and only the first two fit
    const delta = new Float32Array([2, -1, 3, -2, 2, 0]);
    expect(Array.from(trimToTopMagnitude(delta, 0.5, 'w'))).toEqual([2, 0, 3, -2, 0, 0]);
  });

  it('keeps everything at density 1', () => {
    expect(Array.from(trimToTopMagnitude(new Float32Array([1, -2]), 1, 'w'))).toEqual([1, -2]);
  });

  it('refuses a density that keeps nothing, naming the tensor', () => {
    // floor(0.1 · 5) = 0
    expect(() => trimToTopMagnitude(new Float32Array(5), 0.1, 'ln.bias')).toThrow(InvalidMergeOptionError);
    expect(() => trimToTopMagnitude(new Float32Array(5), 0.1, 'ln.bias')).toThrow(
      /tensor 'ln\.bias'.*= 0 of/,
    );
  });

  it('rejects densities outside (0, 1]', () => {
    for (const density of [0, -0.5, 1.5, Number.NaN]) {
      expect(() => trimToTopMagnitude(new Float32Array(4), density, 'w')).toThrow(
        /'density' must be in \(0, 1\]/,
      );
    }
  });
});

describe('ties', () => {
  const base = new Float32Array([1, 1, 1, 1]);
  // τ1 = [2, -1, 0.5, 3]  → trimmed (2 of 4) [2, 0, 0, 3]
  // τ2 = [1, 2, -4, -1]   → trimmed          [0, 2, -4, 0]
  // τ3 = [-3, 1, 1, 0.5]  → trimmed          [-3, 1, 0, 0]  (|1| tie: index 1 wins over index 2)
  const models = [plus(base, [2, -1, 0.5, 3]), plus(base, [1, 2, -4, -1]), plus(base, [-3, 1, 1, 0.5])];

  it('elects signs by the summed trimmed τ and takes the disjoint mean', () => {
    // entry 0: 2 + 0 − 3 = −1 → '−'; only τ3 agrees (τ1's +2 is the disagreeing one) → −3
    // entry 1: 0 + 2 + 1 = 3 → '+'; τ2, τ3 agree → mean (2 + 1)/2 = 1.5 (τ1's trimmed zero does not count)
    // entry 2: −4 → '−'; τ2 → −4
    // entry 3: 3 → '+'; τ1 → 3
    expect(Array.from(ties(base, models, { tensorName: 'w', density: 0.5 }))).toEqual([-2, 2.5, -3, 4]);
  });

  it('scales the merged task vector by lambda', () => {
    // base + 0.5 · [−3, 1.5, −4, 3]
    expect(Array.from(ties(base, models, { tensorName: 'w', density: 0.5, lambda: 0.5 }))).toEqual([
      -0.5, 1.75, -1, 2.5,
    ]);
  });

  it('sums the agreeing τ without normalisation', () => {
    // agreeing sums [−3, 3, −4, 3]
    expect(Array.from(ties(base, models, { tensorName: 'w', density: 0.5, normalize: false }))).toEqual([
      -2, 4, -3, 4,
    ]);
  });

  it('weights both the sign election and the mean', () => {
    // weights [1, 1, 0.25]:
    // entry 0: 2 − 0.75 = 1.25 → '+'; τ1 → 2·1 / 1 = 2
    // entry 1: 2 + 0.25 → '+'; (2 + 0.25) / (1 + 0.25) = 1.8
    // entry 2: −4 / 1; entry 3: 3 / 1
    const out = ties(base, models, { tensorName: 'w', density: 0.5, weights: [1, 1, 0.25] });
    expect(out[0]).toBe(3);
    expect(out[1]).toBeCloseTo(2.8, 6);
    expect(out[2]).toBe(-3);
    expect(out[3]).toBe(4);
  });

  it('elects + on a zero sign sum and keeps the base where nothing survives', () => {
    const b = new Float32Array([0, 5]);
    // entry 0: τ = +1 and −1 sum to 0 → '+' → 1; entry 1: both τ are 0 → base
    const out = ties(b, [new Float32Array([1, 5]), new Float32Array([-1, 5])], {
      tensorName: 'w',
      density: 1,
    });
    expect(Array.from(out)).toEqual([1, 5]);
  });

  it('rejects mismatched lengths and bad options', () => {
    expect(() => ties(base, [new Float32Array(3)], { tensorName: 'attn.q', density: 0.5 })).toThrow(
      IncompatibleModelsError,
    );
    expect(() => ties(base, [new Float32Array(3)], { tensorName: 'attn.q', density: 0.5 })).toThrow(
      /'attn\.q'/,
    );
    expect(() => ties(base, models, { tensorName: 'w', density: 0 })).toThrow(InvalidMergeOptionError);
    expect(() => ties(base, models, { tensorName: 'w', density: 0.5, weights: [1, 1] })).toThrow(
      /'weights' has 2 entries but 3/,
    );
    expect(() => ties(base, models, { tensorName: 'w', density: 0.5, lambda: Number.NaN })).toThrow(
      /'lambda' must be finite/,
    );
  });
});
