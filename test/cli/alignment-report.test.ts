import { describe, expect, it } from 'vitest';
import type { SpaceMap } from '../../src/align/space-map.js';
import { describeSpaces } from '../../src/cli/alignment-report.js';

describe('describeSpaces', () => {
  it('counts a flat space’s moved units against their own index', () => {
    const heads: SpaceMap = {
      baseSpace: 'h.0.attn',
      targetSpace: 'h.0.attn',
      kind: 'free',
      baseWidth: 3,
      targetWidth: 3,
      map: Int32Array.from([2, 1, 0]),
    };
    expect(describeSpaces([heads])).toEqual(['h.0.attn (free): 3 → 3 units, 3 matched, 2 moved, same width']);
  });

  it('counts a nested space inside each parent unit: identity per head moves nothing', () => {
    // Three heads of four value dims: every head keeps its dims in place. Read flat, entries 4..11 would
    // all look moved (map[4] = 0 ≠ 4, ...); inside each head none is.
    const identity: SpaceMap = {
      baseSpace: 'h.0.attn.v',
      targetSpace: 'h.0.attn.v',
      kind: 'free',
      baseWidth: 4,
      targetWidth: 4,
      parent: { space: 'h.0.attn', baseWidth: 3 },
      map: Int32Array.from([0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3]),
    };
    expect(describeSpaces([identity])).toEqual([
      'h.0.attn.v (free, in each of 3 units of h.0.attn): 4 → 4 units, 4 matched, 0 moved, same width',
    ]);
  });

  it('sums moved units over the parent units, and leaves unmatched (-1) entries out', () => {
    // Head 0 swaps dims 0 and 1 (2 moved); head 1 keeps its order; head 2 takes target dim 2 at 0 and
    // leaves dim 1 unmatched, with dims 0 and 1 at 2 and 3 (3 moved). The target is one dim narrower.
    const nested: SpaceMap = {
      baseSpace: 'h.0.attn.v',
      targetSpace: 'h.0.attn.v',
      kind: 'free',
      baseWidth: 4,
      targetWidth: 3,
      parent: { space: 'h.0.attn', baseWidth: 3 },
      map: Int32Array.from([1, 0, 2, -1, 0, 1, 2, -1, 2, -1, 0, 1]),
    };
    // Head 2: index 0 ← 2 (moved), 1 unmatched, 2 ← 0 (moved), 3 ← 1 (moved): 3 moved. Total 2 + 0 + 3.
    expect(describeSpaces([nested])).toEqual([
      'h.0.attn.v (free, in each of 3 units of h.0.attn): 3 → 4 units, 3 matched, 5 moved, 1 base units unmatched',
    ]);
  });
});
