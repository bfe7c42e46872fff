import { describe, expect, it } from 'vitest';
import { mapTargetTensor } from '../../src/align/apply-maps.js';
import type { SpaceMap } from '../../src/align/space-map.js';
import { malInterpolate } from '../../src/merge/mal-interpolation.js';
import { SeededRandom } from '../../src/random/seeded-random.js';

/** A random generalized permutation over `a` base units drawing from `b` target units. */
function randomGeneralizedPermutation(a: number, b: number, random: SeededRandom): Int32Array {
  const targetOrder = random.permutation(b);
  const baseOrder = random.permutation(a);
  const map = new Int32Array(a).fill(-1);
  for (let k = 0; k < Math.min(a, b); k++) map[baseOrder[k]] = targetOrder[k];
  return map;
}

const widths = { '<': [3, 5], '=': [4, 4], '>': [5, 3] } as const; // [base, target]
const cases = (['<', '=', '>'] as const).flatMap((o) =>
  (['<', '=', '>'] as const).map((i) => [o, i] as const),
);

describe('a dense weight mapped and merged in all nine width cases', () => {
  it.each(cases)('out %s, in %s', (outCase, inCase) => {
    const random = new SeededRandom(outCase.charCodeAt(0) * 7 + inCase.charCodeAt(0));
    const [ao, bo] = widths[outCase];
    const [ai, bi] = widths[inCase];
    const mo = randomGeneralizedPermutation(ao, bo, random);
    const mi = randomGeneralizedPermutation(ai, bi, random);
    const maps = new Map<string, SpaceMap>([
      ['o', { baseSpace: 'o', targetSpace: 'o', kind: 'free', baseWidth: ao, targetWidth: bo, map: mo }],
      ['i', { baseSpace: 'i', targetSpace: 'i', kind: 'free', baseWidth: ai, targetWidth: bi, map: mi }],
    ]);
    const target = { shape: [bo, bi], data: random.normalArray(bo * bi) };
    const base = random.normalArray(ao * ai);
    const axes = [[{ space: 'o', block: 1 }], [{ space: 'i', block: 1 }]];
    const mapped = mapTargetTensor(
      { targetName: 'w', target, baseAxes: axes, targetAxes: axes, baseShape: [ao, ai] },
      maps,
      'incompatible',
      true,
    );
    expect(mapped.shape).toEqual([ao, ai]);
    const lambda = 0.3;
    const zero = malInterpolate(base, mapped.data, lambda, 'zero');
    const keep = malInterpolate(base, mapped.data, lambda, 'keep', mapped.matched);
    let matchedCount = 0;
    for (let r = 0; r < ao; r++) {
      for (let c = 0; c < ai; c++) {
        const k = r * ai + c;
        const hit = mo[r] >= 0 && mi[c] >= 0;
        // P_out · W · P_inᵀ written out entry by entry.
        const expected = hit ? target.data[mo[r] * bi + mi[c]] : 0;
        expect(mapped.data[k]).toBe(expected);
        expect(mapped.matched![k]).toBe(hit ? 1 : 0);
        expect(zero[k]).toBeCloseTo((1 - lambda) * base[k] + lambda * expected, 6);
        expect(keep[k]).toBeCloseTo(hit ? (1 - lambda) * base[k] + lambda * expected : base[k], 6);
        if (hit) matchedCount++;
      }
    }
    expect(matchedCount).toBe(Math.min(ao, bo) * Math.min(ai, bi));
  });
});
