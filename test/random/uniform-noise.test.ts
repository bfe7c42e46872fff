import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/random/seeded-random.js';
import { addUniformNoise } from '../../src/random/uniform-noise.js';

describe('addUniformNoise', () => {
  it('adds zero-mean noise of the asked standard deviation, within ±√3 σ, to what is there', () => {
    const data = new Float32Array(150_001).fill(5);
    addUniformNoise(new SeededRandom(4), data, 0.1);
    let mean = 0;
    let square = 0;
    let widest = 0;
    for (const v of data) {
      mean += v - 5;
      square += (v - 5) ** 2;
      widest = Math.max(widest, Math.abs(v - 5));
    }
    expect(widest).toBeLessThanOrEqual(Math.sqrt(3) * 0.1 + 1e-6);
    mean /= data.length;
    expect(mean).toBeCloseTo(0, 3);
    expect(Math.sqrt(square / data.length - mean * mean)).toBeCloseTo(0.1, 3);
    // Uniform: about a tenth of the entries in each tenth of the range.
    const lowest = data.filter((v) => v - 5 < -Math.sqrt(3) * 0.1 * 0.8).length / data.length;
    expect(lowest).toBeGreaterThan(0.09);
    expect(lowest).toBeLessThan(0.11);
  });

  it('is fixed by the seed', () => {
    const a = new Float32Array(1000);
    const b = new Float32Array(1000);
    addUniformNoise(new SeededRandom(1), a, 1);
    addUniformNoise(new SeededRandom(1), b, 1);
    expect(b).toEqual(a);
    addUniformNoise(new SeededRandom(2), b, 1);
    expect(b).not.toEqual(a);
  });
});
