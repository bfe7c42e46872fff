import { describe, expect, it } from 'vitest';
import { architectureOrder } from '../../src/report/study-architecture-order.js';
import { studyRow } from '../study/study-rows-fixture.js';

const model = (arch: string, depth: number) => ({
  id: arch,
  sha256: '0'.repeat(64),
  family: 'mlp',
  arch,
  depth,
  data: 'd',
  domain: 'd',
});

describe('architectureOrder', () => {
  it('orders by mean touched width, then depth, then label, never alphabetically by default', () => {
    const rows = [
      studyRow({ baseArch: 'z-narrow', baseWidth: 16, targetArch: 'a-wide', targetWidth: 256 }),
      // b-mid is 64 wide in one cell and 128 in another: mean 96.
      studyRow({ baseArch: 'b-mid', baseWidth: 64, targetArch: 'c-deep', targetWidth: 96, targetDepth: 4 }),
      studyRow({ baseArch: 'a-wide', baseWidth: 256, targetArch: 'b-mid', targetWidth: 128 }),
      studyRow({
        baseArch: 'd-shallow',
        baseWidth: 96,
        baseDepth: 1,
        targetArch: 'z-narrow',
        targetWidth: 16,
      }),
    ];
    expect(architectureOrder(rows, [])).toEqual(['z-narrow', 'd-shallow', 'b-mid', 'c-deep', 'a-wide']);
  });

  it('puts architectures with no cells last, by depth then label', () => {
    const rows = [studyRow({ baseArch: 'x', targetArch: 'x', baseWidth: 8, targetWidth: 8 })];
    expect(architectureOrder(rows, [model('deep', 5), model('b', 2), model('a', 2), model('x', 2)])).toEqual([
      'x',
      'a',
      'b',
      'deep',
    ]);
  });
});
