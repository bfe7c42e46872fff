import { describe, expect, it } from 'vitest';
import { axisIndex } from '../../src/align/axis-index.js';
import type { SpaceMap } from '../../src/align/space-map.js';
import { IncompatibleModelsError } from '../../src/errors.js';

function mapOf(name: string, targetWidth: number, map: number[]): [string, SpaceMap] {
  return [
    name,
    {
      baseSpace: name,
      targetSpace: name,
      kind: 'free',
      baseWidth: map.length,
      targetWidth,
      map: Int32Array.from(map),
    },
  ];
}

describe('axisIndex', () => {
  it('maps blocks of units as wholes, keeping the order inside a block', () => {
    const maps = new Map([mapOf('heads', 2, [1, -1, 0])]);
    const idx = axisIndex(
      [{ space: 'heads', block: 2 }],
      [{ space: 'heads', block: 2 }],
      6,
      4,
      maps,
      'incompatible',
      'w',
    );
    expect(Array.from(idx)).toEqual([2, 3, -1, -1, 0, 1]);
  });

  it('maps each part of a fused axis from its own offset', () => {
    // q|k|v of 2 heads (base) from 3 heads (target), block 1
    const maps = new Map([mapOf('h', 3, [2, 0])]);
    const parts = [
      { space: 'h', block: 1 },
      { space: 'h', block: 1 },
      { space: 'h', block: 1 },
    ];
    const idx = axisIndex(parts, parts, 6, 9, maps, 'incompatible', 'w');
    expect(Array.from(idx)).toEqual([2, 0, 5, 3, 8, 6]);
  });

  it('centre-pads and centre-crops kernels only when asked', () => {
    const maps = new Map<string, SpaceMap>();
    expect(Array.from(axisIndex(null, null, 5, 3, maps, 'centre', 'w'))).toEqual([-1, 0, 1, 2, -1]);
    expect(Array.from(axisIndex(null, null, 3, 5, maps, 'centre', 'w'))).toEqual([1, 2, 3]);
    expect(() => axisIndex(null, null, 5, 3, maps, 'incompatible', "tensor 'c.weight' axis 2")).toThrow(
      IncompatibleModelsError,
    );
    expect(() => axisIndex(null, null, 5, 3, maps, 'incompatible', "tensor 'c.weight' axis 2")).toThrow(
      /c\.weight/,
    );
  });
});
