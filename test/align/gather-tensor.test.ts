import { describe, expect, it } from 'vitest';
import { gatherTensor, rangeIndex } from '../../src/align/gather-tensor.js';

describe('gatherTensor', () => {
  // 2×3 matrix [[1,2,3],[4,5,6]]
  const m = new Float32Array([1, 2, 3, 4, 5, 6]);

  it('permutes, drops and pads along each axis', () => {
    const out = gatherTensor(m, [2, 3], [new Int32Array([1, -1, 0]), new Int32Array([2, 0])], {
      withMask: true,
    });
    expect(out.shape).toEqual([3, 2]);
    expect(Array.from(out.data)).toEqual([6, 4, 0, 0, 3, 1]);
    expect(Array.from(out.matched!)).toEqual([1, 1, 0, 0, 1, 1]);
  });

  it('reorders axes on output', () => {
    const out = gatherTensor(m, [2, 3], [rangeIndex(0, 2), rangeIndex(0, 3)], { axisOrder: [1, 0] });
    expect(out.shape).toEqual([3, 2]);
    expect(Array.from(out.data)).toEqual([1, 4, 2, 5, 3, 6]);
  });

  it('handles rank 3 with an unmatched middle index', () => {
    // shape [2,2,2], values 0..7
    const t = Float32Array.from({ length: 8 }, (_, i) => i);
    const out = gatherTensor(
      t,
      [2, 2, 2],
      [new Int32Array([1]), new Int32Array([-1, 0]), new Int32Array([1, 0])],
    );
    expect(Array.from(out.data)).toEqual([0, 0, 5, 4]);
  });

  it('rejects an index past the axis', () => {
    expect(() => gatherTensor(m, [2, 3], [new Int32Array([2]), new Int32Array([0])])).toThrow(/out of range/);
  });
});
