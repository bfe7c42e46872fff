import { describe, expect, it } from 'vitest';
import { transposeMatrix } from '../../src/linalg/transpose-matrix.js';

describe('transposeMatrix', () => {
  it('transposes every shape across tile edges', () => {
    for (const [rows, cols] of [
      [1, 1],
      [3, 130],
      [65, 64],
      [129, 7],
    ]) {
      const m = Float32Array.from({ length: rows * cols }, (_, k) => k + 0.5);
      const t = transposeMatrix(m, rows, cols);
      for (let i = 0; i < rows; i++)
        for (let j = 0; j < cols; j++) expect(t[j * rows + i], `${i},${j}`).toBe(m[i * cols + j]);
    }
  });

  it('picks rows first, zeros where the index is −1', () => {
    const m = Float32Array.of(1, 2, 3, 4, 5, 6); // 3 × 2
    expect(Array.from(transposeMatrix(m, 3, 2, Int32Array.of(2, -1, 0, 2)))).toEqual([
      5, 0, 1, 5, 6, 0, 2, 6,
    ]);
  });

  it('refuses a wrong length or a row out of range', () => {
    expect(() => transposeMatrix(new Float32Array(5), 2, 3)).toThrow(RangeError);
    expect(() => transposeMatrix(new Float32Array(6), 2, 3, Int32Array.of(2))).toThrow(RangeError);
  });
});
