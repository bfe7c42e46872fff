import { describe, expect, it } from 'vitest';
import type { StudyLaw, StudyLawId } from '../../src/study/study-laws.js';
import { studyLaws } from '../../src/study/study-laws.js';
import type { StudyRow } from '../../src/study/study-row.js';
import { studyRow, studyRowsFixture } from './study-rows-fixture.js';

function law(rows: readonly StudyRow[], id: StudyLawId): StudyLaw {
  const found = studyLaws(rows).find((l) => l.id === id);
  expect(found, `law ${id}`).toBeDefined();
  return found!;
}

const RATIOS = [0.25, 0.5, 1, 2, 4, 8];

/** One aligned and one naive row per base, with the given mean losses. */
function pairs(aligned: readonly number[], naive: readonly number[]): StudyRow[] {
  return aligned.flatMap((a, i) => [
    studyRow({ base: `b${i}`, aligned: true, meanLoss: a, barrier: a / 2, threshold: 0.5 }),
    studyRow({ base: `b${i}`, aligned: false, meanLoss: naive[i], barrier: naive[i] / 2, threshold: 0.1 }),
  ]);
}

describe('studyLaws', () => {
  it('states every law in a fixed order, and with no rows says each has not enough cells', () => {
    const laws = studyLaws([]);
    expect(laws.map((l) => l.id)).toEqual([
      'alignment',
      'width-ratio',
      'width-asymmetry',
      'position',
      'data-relation',
      'depth-difference',
    ]);
    for (const l of laws) {
      expect(l.enough).toBe(false);
      expect(l.n).toBe(0);
      expect(l.sentence).toContain('not enough cells');
      expect(l.values).toEqual({});
    }
  });

  describe('alignment against naive', () => {
    it('says aligned connects better when it does, with medians and the count', () => {
      const l = law(pairs([0.1, 0.2, 0.3, 0.4, 0.5, 0.9], [0.6, 0.7, 0.8, 0.9, 1.0, 0.8]), 'alignment');
      expect(l.enough).toBe(true);
      expect(l.n).toBe(6);
      // Medians: aligned (0.3 + 0.4) / 2, naive (0.8 + 0.8) / 2; the last pair is the one naive wins.
      expect(l.values.alignedMeanLoss).toBeCloseTo(0.35, 12);
      expect(l.values.naiveMeanLoss).toBeCloseTo(0.8, 12);
      expect(l.values.alignedLower).toBe(5);
      expect(l.values.naiveLower).toBe(1);
      expect(l.sentence).toBe(
        'Aligned transplants connect better than naive ones: median mean-LMC loss 0.350 (aligned) vs 0.800 (naive) over 6 paired cells; aligned lower in 5 of 6. Median barrier 0.175 vs 0.400; median λ* 0.50 vs 0.10.',
      );
    });

    it('says naive connects better when the data say so, and counts ties', () => {
      const l = law(pairs([0.6, 0.7, 0.8, 0.9, 1.0], [0.1, 0.2, 0.3, 0.4, 1.0]), 'alignment');
      expect(l.sentence).toMatch(/^Naive transplants connect better than aligned ones: /);
      expect(l.sentence).toContain('aligned lower in 0 of 5, equal in 1.');
      expect(l.values.ties).toBe(1);
    });

    it('needs five paired cells, and pairs only cells that match on base, target, position and layers', () => {
      const rows = pairs([0.1, 0.2, 0.3, 0.4], [0.5, 0.6, 0.7, 0.8]);
      // An aligned cell with no naive partner, and a naive one at another position.
      rows.push(
        studyRow({ base: 'lonely', aligned: true }),
        studyRow({ base: 'b0', position: 'last', aligned: false }),
      );
      const l = law(rows, 'alignment');
      expect(l.enough).toBe(false);
      expect(l.n).toBe(4);
      expect(l.sentence).toBe(
        'Alignment against naive interpolation: not enough cells (4 paired cells; 5 needed).',
      );
    });
  });

  describe('λ* against the width ratio', () => {
    const rising = RATIOS.map((widthRatio, i) => studyRow({ base: `m${i}`, widthRatio, threshold: i / 10 }));

    it('is a positive Spearman ρ, and says λ* rises, when λ* grows with the ratio', () => {
      const l = law(rising, 'width-ratio');
      expect(l.values.rho).toBe(1);
      expect(l.sentence).toBe(
        'λ* rises strongly as the width ratio (target/base) grows: Spearman ρ = 1.00 over 6 aligned cells.',
      );
    });

    it('is negative, and says λ* falls, when λ* shrinks with the ratio', () => {
      const falling = RATIOS.map((widthRatio, i) =>
        studyRow({ base: `m${i}`, widthRatio, threshold: 1 - i / 10 }),
      );
      const l = law(falling, 'width-ratio');
      expect(l.values.rho).toBe(-1);
      expect(l.sentence).toContain('λ* falls strongly as the width ratio');
      expect(l.sentence).toContain('ρ = −1.00');
    });

    it('uses the aligned cells only when there are any, so naive cells cannot blur the trend', () => {
      const naiveReversed = RATIOS.map((widthRatio, i) =>
        studyRow({ base: `m${i}`, widthRatio, threshold: 1 - i / 10, aligned: false }),
      );
      const l = law([...rising, ...naiveReversed], 'width-ratio');
      expect(l.values.rho).toBe(1);
      expect(l.n).toBe(6);
      const naiveOnly = law(naiveReversed, 'width-ratio');
      expect(naiveOnly.values.rho).toBe(-1);
      expect(naiveOnly.sentence).toContain('over 6 naive cells');
    });

    it('grades the strength: a weak trend is called weak, none is called none', () => {
      // Ranks of λ*: [2, 1, 3, 5, 4, 6] against [1 … 6]: Σd² = 4, ρ = 1 − 24/210 = 0.886 → strong.
      const strong = law(
        RATIOS.map((widthRatio, i) =>
          studyRow({ base: `m${i}`, widthRatio, threshold: [2, 1, 3, 5, 4, 6][i] / 10 }),
        ),
        'width-ratio',
      );
      expect(strong.values.rho).toBeCloseTo(1 - 24 / 210, 12);
      expect(strong.sentence).toContain('rises strongly');
      // [4, 1, 5, 2, 6, 3]: Σd² = 9 + 1 + 4 + 4 + 1 + 9 = 28, ρ = 1 − 168/210 = 0.2 → weak.
      const weak = law(
        RATIOS.map((widthRatio, i) =>
          studyRow({ base: `m${i}`, widthRatio, threshold: [4, 1, 5, 2, 6, 3][i] / 10 }),
        ),
        'width-ratio',
      );
      expect(weak.values.rho).toBeCloseTo(0.2, 12);
      expect(weak.sentence).toContain('λ* rises weakly as the width ratio');
      // [4, 2, 6, 1, 3, 5]: Σd² = 9 + 0 + 9 + 9 + 4 + 1 = 32, ρ = 1 − 192/210 = 0.0857 → no trend.
      const none = law(
        RATIOS.map((widthRatio, i) =>
          studyRow({ base: `m${i}`, widthRatio, threshold: [4, 2, 6, 1, 3, 5][i] / 10 }),
        ),
        'width-ratio',
      );
      expect(none.values.rho).toBeCloseTo(1 - 192 / 210, 12);
      expect(none.sentence).toContain('λ* shows no monotone trend with the width ratio');
      // [1, 2, 6, 5, 3, 4]: Σd² = 0 + 0 + 9 + 1 + 4 + 4 = 18, ρ = 1 − 108/210 = 0.486 → moderate.
      const moderate = law(
        RATIOS.map((widthRatio, i) =>
          studyRow({ base: `m${i}`, widthRatio, threshold: [1, 2, 6, 5, 3, 4][i] / 10 }),
        ),
        'width-ratio',
      );
      expect(moderate.values.rho).toBeCloseTo(1 - 108 / 210, 12);
      expect(moderate.sentence).toContain('rises moderately');
    });

    it('says "not enough cells" under five, and names what is constant when nothing varies', () => {
      const few = law(rising.slice(0, 4), 'width-ratio');
      expect(few.enough).toBe(false);
      expect(few.sentence).toBe('λ* against the width ratio: not enough cells (4 aligned cells; 5 needed).');
      const constant = law(
        RATIOS.map((_, i) => studyRow({ base: `m${i}`, widthRatio: 2, threshold: i / 10 })),
        'width-ratio',
      );
      expect(constant.enough).toBe(false);
      expect(constant.sentence).toContain('the width ratio (target/base) takes one value');
    });

    it('leaves cells with a non-finite λ* out of the count', () => {
      const broken = [...rising, studyRow({ base: 'broken', widthRatio: 3, threshold: Number.NaN })];
      expect(law(broken, 'width-ratio').n).toBe(6);
    });
  });

  describe('narrower → wider against wider → narrower', () => {
    const side = (widthRatio: number, threshold: number, meanLoss: number, count = 5) =>
      Array.from({ length: count }, (_, i) =>
        studyRow({ base: `${widthRatio}-${i}`, widthRatio, threshold, meanLoss: meanLoss + i / 100 }),
      );

    it('finds the asymmetry the data hold, whichever way it goes', () => {
      const up = law(
        [...side(0.5, 0.6, 0.3), ...side(2, 0.2, 0.7), ...side(1, 0.9, 0.1, 2)],
        'width-asymmetry',
      );
      expect(up.sentence).toBe(
        'Narrower → wider transplants (ratio < 1) merge further than wider → narrower ones (ratio > 1): median λ* 0.60 vs 0.20 over 5 narrower → wider and 5 wider → narrower aligned cells; median mean-LMC loss 0.320 vs 0.720 (lower for narrower → wider). 2 cells of equal width left out.',
      );
      expect(up.n).toBe(10);
      expect(up.values.equalWidthCells).toBe(2);
      const down = law([...side(0.5, 0.2, 0.7), ...side(4, 0.6, 0.3)], 'width-asymmetry');
      expect(down.sentence).toMatch(
        /^Wider → narrower transplants \(ratio > 1\) merge further than narrower → wider ones \(ratio < 1\): median λ\* 0\.20 vs 0\.60 /,
      );
      expect(down.sentence).toContain('(lower for wider → narrower)');
    });

    it('needs five cells on each side', () => {
      const l = law([...side(0.5, 0.6, 0.3), ...side(2, 0.2, 0.7, 4)], 'width-asymmetry');
      expect(l.enough).toBe(false);
      expect(l.sentence).toContain(
        'not enough cells (5 narrower → wider and 4 wider → narrower aligned cells',
      );
    });
  });

  describe('position and data relation', () => {
    const group = (overrides: Partial<StudyRow>, threshold: number, meanLoss: number, count = 5) =>
      Array.from({ length: count }, (_, i) =>
        studyRow({ ...overrides, base: `${JSON.stringify(overrides)}-${i}`, threshold, meanLoss }),
      );

    it('gives medians per position in network order and names the extremes', () => {
      const rows = [
        ...group({ position: 'last' }, 0.2, 0.9),
        ...group({ position: 'first' }, 0.8, 0.3),
        ...group({ position: 'middle' }, 0.5, 0.6),
        ...group({ position: 'layer-2' }, 0.5, 0.6, 2),
      ];
      const l = law(rows, 'position');
      expect(l.sentence).toBe(
        'By position (aligned cells): median λ* first 0.80, middle 0.50, last 0.20 (highest for first, lowest for last); median mean-LMC loss first 0.300, middle 0.600, last 0.900 (lowest for first, highest for last); 5, 5, 5 cells. Left out with fewer than 5 cells: layer 2 (2).',
      );
      expect(l.n).toBe(15);
      expect(l.values).toMatchObject({ firstThreshold: 0.8, lastMeanLoss: 0.9, middleCells: 5 });
    });

    it('names ties at an extreme and says when all are equal', () => {
      const rows = [...group({ position: 'first' }, 0.4, 0.3), ...group({ position: 'last' }, 0.4, 0.5)];
      expect(law(rows, 'position').sentence).toContain('median λ* first 0.40, last 0.40 (equal for all)');
    });

    it('compares same, split and different data, even when the worst is the same data', () => {
      const rows = [
        ...group({ relation: 'different' }, 0.7, 0.2),
        ...group({ relation: 'same' }, 0.1, 0.8),
        ...group({ relation: 'split' }, 0.4, 0.5),
      ];
      expect(law(rows, 'data-relation').sentence).toContain(
        'median λ* same data 0.10, split data 0.40, different data 0.70 (highest for different data, lowest for same data)',
      );
    });

    it('needs two groups of five', () => {
      const l = law(
        [...group({ relation: 'same' }, 0.1, 0.8), ...group({ relation: 'split' }, 0.4, 0.5, 3)],
        'data-relation',
      );
      expect(l.enough).toBe(false);
      expect(l.sentence).toContain('aligned cells by data relation: same data 5, split data 3');
    });
  });

  describe('depth difference', () => {
    it('says the loss rises with the depth difference when it does', () => {
      const rows = [0, 0, 1, 1, 2, 3].map((d, i) =>
        studyRow({
          base: `d${i}`,
          baseDepth: 2 + (i % 2 === 0 ? d : 0),
          targetDepth: 2 + (i % 2 === 0 ? 0 : d),
          meanLoss: 0.2 + i / 10,
        }),
      );
      const l = law(rows, 'depth-difference');
      // Depth differences ranked [1.5, 1.5, 3.5, 3.5, 5, 6] against [1 … 6]: Σdxdy = 16.5, Σdx² = 16.5, Σdy² = 17.5.
      expect(l.values.rho).toBeCloseTo(16.5 / Math.sqrt(16.5 * 17.5), 12);
      expect(l.sentence).toContain(
        'Mean-LMC loss rises strongly as the depth difference |base depth − target depth| grows',
      );
    });
  });

  it('reads the fixture’s built-in trends back', () => {
    const laws = studyLaws(studyRowsFixture());
    const byId = Object.fromEntries(laws.map((l) => [l.id, l]));
    expect(byId.alignment.sentence).toMatch(
      /^Aligned transplants connect better than naive ones: .* aligned lower in 396 of 396\./,
    );
    expect(byId['width-ratio'].values.rho).toBeLessThan(0);
    expect(byId['width-asymmetry'].sentence).toMatch(/^Narrower → wider transplants/);
    expect(byId['data-relation'].sentence).toContain('lowest for same data, highest for different data');
  });
});
