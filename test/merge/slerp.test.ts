import { describe, expect, it } from 'vitest';
import { IncompatibleModelsError } from '../../src/errors.js';
import { InvalidMergeOptionError } from '../../src/merge/merge-options-error.js';
import { slerp } from '../../src/merge/slerp.js';

const opts = { tensorName: 'w' };

function expectClose(actual: Float32Array, expected: number[]): void {
  expect(actual.length).toBe(expected.length);
  for (let j = 0; j < expected.length; j++) expect(actual[j]).toBeCloseTo(expected[j], 6);
}

describe('slerp', () => {
  const from = new Float32Array([0.3, -1.7, 2.5, 0.01]);
  const to = new Float32Array([-1.1, 0.4, 0.9, 3.3]);

  it('returns the endpoints exactly at t = 0 and t = 1', () => {
    expect(Array.from(slerp(from, to, 0, opts))).toEqual(Array.from(from));
    expect(Array.from(slerp(from, to, 1, opts))).toEqual(Array.from(to));
  });

  it('gives (e1 + e2)/√2 halfway between orthogonal unit vectors', () => {
    const e1 = new Float32Array([1, 0, 0]);
    const e2 = new Float32Array([0, 1, 0]);
    expectClose(slerp(e1, e2, 0.5, opts), [Math.SQRT1_2, Math.SQRT1_2, 0]);
  });

  it('follows the arc at other t', () => {
    // Ω = π/2, t = 0.25: coefficients sin(3π/8) and sin(π/8), i.e. (cos π/8, sin π/8)
    const out = slerp(new Float32Array([1, 0]), new Float32Array([0, 1]), 0.25, opts);
    expectClose(out, [Math.cos(Math.PI / 8), Math.sin(Math.PI / 8)]);
  });

  it('applies the coefficients to the un-normalised tensors', () => {
    // [2,0] and [0,3] are orthogonal: both coefficients are sin(π/4) = √2/2 → [√2, 1.5·√2]
    const out = slerp(new Float32Array([2, 0]), new Float32Array([0, 3]), 0.5, opts);
    expectClose(out, [Math.SQRT2, 1.5 * Math.SQRT2]);
  });

  it('falls back to linear interpolation for collinear tensors', () => {
    // to = 2·from: (0.75·[1,2,3] + 0.25·[2,4,6]) = [1.25, 2.5, 3.75]
    expect(Array.from(slerp(new Float32Array([1, 2, 3]), new Float32Array([2, 4, 6]), 0.25, opts))).toEqual([
      1.25, 2.5, 3.75,
    ]);
    // opposite directions are collinear too: halfway between v and −v is 0
    expect(Array.from(slerp(new Float32Array([1, -2]), new Float32Array([-1, 2]), 0.5, opts))).toEqual([
      0, 0,
    ]);
  });

  it('treats a zero tensor as orthogonal to everything, as mergekit does', () => {
    // Its norm is below the epsilon so it is not normalised; the dot is 0, Ω = π/2, coefficients √2/2
    const out = slerp(new Float32Array([0, 0]), new Float32Array([1, 2]), 0.5, opts);
    expectClose(out, [Math.SQRT1_2, 2 * Math.SQRT1_2]);
  });

  it('rejects t outside [0, 1]', () => {
    for (const t of [-0.1, 1.5, Number.NaN]) {
      expect(() => slerp(from, to, t, opts)).toThrow(InvalidMergeOptionError);
      expect(() => slerp(from, to, t, opts)).toThrow(/'t' must be in \[0, 1\]/);
    }
  });

  it('rejects tensors of different lengths, naming the tensor', () => {
    expect(() => slerp(from, new Float32Array(3), 0.5, { tensorName: 'embed' })).toThrow(
      IncompatibleModelsError,
    );
    expect(() => slerp(from, new Float32Array(3), 0.5, { tensorName: 'embed' })).toThrow(
      /tensor 'embed'.*from: 4, to: 3/,
    );
  });
});
