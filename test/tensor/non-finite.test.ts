import { describe, expect, it } from 'vitest';
import { firstNonFinite } from '../../src/tensor/non-finite.js';

describe('firstNonFinite', () => {
  it('returns -1 for finite data, including extremes and an empty array', () => {
    expect(firstNonFinite(new Float32Array(0))).toBe(-1);
    expect(
      firstNonFinite(Float32Array.of(0, -0, 1, -3.4028234663852886e38, 3.4028234663852886e38, 1e-45)),
    ).toBe(-1);
  });

  it('finds the first NaN, Inf or -Inf', () => {
    expect(firstNonFinite(Float32Array.of(1, 2, Number.NaN, Number.POSITIVE_INFINITY))).toBe(2);
    expect(firstNonFinite(Float32Array.of(Number.POSITIVE_INFINITY, 1))).toBe(0);
    expect(firstNonFinite(Float32Array.of(1, 2, 3, Number.NEGATIVE_INFINITY))).toBe(3);
  });

  it('finds a non-finite value deep in a large array', () => {
    const data = new Float32Array(1_000_003).fill(0.5);
    data[999_999] = Number.NaN;
    expect(firstNonFinite(data)).toBe(999_999);
  });

  it('indexes relative to a subarray', () => {
    const data = Float32Array.of(Number.NaN, 1, 2, Number.POSITIVE_INFINITY);
    expect(firstNonFinite(data.subarray(1))).toBe(2);
    expect(firstNonFinite(data.subarray(1, 3))).toBe(-1);
  });
});
