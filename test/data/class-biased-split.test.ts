/**
 * The class-biased split rule against an independent reference: expected counts are computed here in exact
 * integer arithmetic (the bias as a fraction k/D), not with the module's floating-point rounding.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  classBiasedSplit,
  classGroups,
  countPerClass,
  largestRemainderCounts,
  SplitOptionsError,
} from '../../src/data/class-biased-split.js';
import { SeededRandom } from '../../src/random/seeded-random.js';

/** Largest remainder over integer numerators: quota_i = total·num_i/den; ties to the lower index. */
function exactApportion(total: number, numerators: readonly number[], den: number): number[] {
  const counts = numerators.map((num) => Math.floor((total * num) / den));
  const order = numerators
    .map((num, i) => ({ r: (total * num) % den, i }))
    .sort((a, b) => b.r - a.r || a.i - b.i);
  let left = total - counts.reduce((a, b) => a + b, 0);
  for (let k = 0; left > 0; k++, left--) counts[order[k].i]++;
  return counts;
}

/** Expected [holdout, part 1..N] per-class counts for bias k/D, straight from the rule's wording. */
function expectedCounts(
  classCounts: readonly number[],
  parts: number,
  biasNum: number,
  biasDen: number,
  holdout: number,
): { holdout: number[]; parts: number[][] } {
  const classes = classCounts.length;
  const total = classCounts.reduce((a, b) => a + b, 0);
  const held = exactApportion(holdout, classCounts, total);
  // Groups written out from the rule: sizes floor(C/N), the first C mod N one larger, contiguous.
  const owner: number[] = [];
  for (let g = 0; g < parts; g++) {
    const size = Math.floor(classes / parts) + (g < classes % parts ? 1 : 0);
    for (let k = 0; k < size; k++) owner.push(g);
  }
  const partCounts = Array.from({ length: parts }, () => new Array<number>(classes).fill(0));
  // weights b = k/D and (1−b)/(N−1) = (D−k)/(D·(N−1)), over the common denominator D·(N−1).
  const den = biasDen * (parts - 1);
  for (let c = 0; c < classes; c++) {
    const numerators = Array.from({ length: parts }, (_, i) =>
      i === owner[c] ? biasNum * (parts - 1) : biasDen - biasNum,
    );
    exactApportion(classCounts[c] - held[c], numerators, den).forEach((n, i) => {
      partCounts[i][c] = n;
    });
  }
  return { holdout: held, parts: partCounts };
}

function randomLabels(count: number, classes: number, seed: number): Int32Array {
  const random = new SeededRandom(seed);
  // Uneven class sizes, so stratification is not trivially count/classes.
  const weights = Array.from({ length: classes }, () => 0.2 + random.next());
  const sum = weights.reduce((a, b) => a + b, 0);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    let u = random.next() * sum;
    let c = 0;
    while (c < classes - 1 && u >= weights[c]) u -= weights[c++];
    labels[i] = c;
  }
  return labels;
}

describe('classGroups', () => {
  it('cuts 10 classes into contiguous groups, the first ones larger', () => {
    expect(classGroups(10, 2)).toEqual([
      [0, 1, 2, 3, 4],
      [5, 6, 7, 8, 9],
    ]);
    expect(classGroups(10, 3)).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6],
      [7, 8, 9],
    ]);
    expect(classGroups(10, 4)).toEqual([
      [0, 1, 2],
      [3, 4, 5],
      [6, 7],
      [8, 9],
    ]);
  });

  it('refuses one part or more parts than classes', () => {
    expect(() => classGroups(10, 1)).toThrow(SplitOptionsError);
    expect(() => classGroups(10, 11)).toThrow(/from 2 to the number of classes \(10\), got 11/);
  });
});

describe('classBiasedSplit', () => {
  it('2-way, b = 0.8, on 10 equal classes of 600: 80 % own group, 20 % of the other, 200 held out', () => {
    const labels = Int32Array.from({ length: 6000 }, (_, i) => i % 10);
    const split = classBiasedSplit(labels, 10, { parts: 2, bias: 0.8, holdout: 200, seed: 3 });
    expect(countPerClass(labels, split.holdout, 10)).toEqual(new Array(10).fill(20));
    // 580 left per class: 464 = 0.8·580 to the owner, 116 to the other part.
    expect(countPerClass(labels, split.parts[0], 10)).toEqual([
      464, 464, 464, 464, 464, 116, 116, 116, 116, 116,
    ]);
    expect(countPerClass(labels, split.parts[1], 10)).toEqual([
      116, 116, 116, 116, 116, 464, 464, 464, 464, 464,
    ]);
  });

  it('3-way, b = 0.8: 80 % own, 10 % to each other part', () => {
    const labels = Int32Array.from({ length: 3000 }, (_, i) => i % 10);
    const split = classBiasedSplit(labels, 10, { parts: 3, bias: 0.8, holdout: 0, seed: 1 });
    expect(split.holdout).toHaveLength(0);
    expect(countPerClass(labels, split.parts[0], 10)).toEqual([240, 240, 240, 240, 30, 30, 30, 30, 30, 30]);
    expect(countPerClass(labels, split.parts[1], 10)).toEqual([30, 30, 30, 30, 240, 240, 240, 30, 30, 30]);
    expect(countPerClass(labels, split.parts[2], 10)).toEqual([30, 30, 30, 30, 30, 30, 30, 240, 240, 240]);
  });

  it('b = 1 gives parts with disjoint classes', () => {
    const labels = randomLabels(2000, 10, 4);
    const split = classBiasedSplit(labels, 10, { parts: 2, bias: 1, holdout: 100, seed: 9 });
    const first = countPerClass(labels, split.parts[0], 10);
    const second = countPerClass(labels, split.parts[1], 10);
    expect(first.slice(5)).toEqual([0, 0, 0, 0, 0]);
    expect(second.slice(0, 5)).toEqual([0, 0, 0, 0, 0]);
  });

  it('counts match the exact reference, and the parts and hold-out are disjoint and cover every example', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 10 }),
        fc.integer({ min: 2, max: 5 }),
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 50, max: 700 }),
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        (classes, wantedParts, biasTwentieths, count, holdout, seed) => {
          const parts = Math.min(wantedParts, classes);
          const labels = randomLabels(count, classes, seed);
          const options = { parts, bias: biasTwentieths / 20, holdout, seed };
          const classCounts = countPerClass(labels, Int32Array.from(labels.keys()), classes);
          const expected = expectedCounts(classCounts, parts, biasTwentieths, 20, holdout);
          const emptyPart = expected.parts.findIndex((perClass) => perClass.every((n) => n === 0));
          if (emptyPart >= 0) {
            expect(() => classBiasedSplit(labels, classes, options)).toThrow(
              new RegExp(`part ${emptyPart + 1} would get no examples`),
            );
            return;
          }
          const split = classBiasedSplit(labels, classes, options);
          expect(countPerClass(labels, split.holdout, classes)).toEqual(expected.holdout);
          split.parts.forEach((indices, i) => {
            expect(countPerClass(labels, indices, classes)).toEqual(expected.parts[i]);
          });
          const seen = new Uint8Array(count);
          for (const indices of [split.holdout, ...split.parts]) {
            for (let k = 0; k < indices.length; k++) {
              seen[indices[k]]++;
              if (k > 0) expect(indices[k]).toBeGreaterThan(indices[k - 1]);
            }
          }
          expect(seen.every((n) => n === 1)).toBe(true);
        },
      ),
      { numRuns: 150, seed: 20240611 },
    );
  });

  it('is deterministic for a seed; the hold-out depends only on the seed and its size', () => {
    const labels = randomLabels(3000, 10, 7);
    const a = classBiasedSplit(labels, 10, { parts: 2, bias: 0.8, holdout: 300, seed: 5 });
    const b = classBiasedSplit(labels, 10, { parts: 2, bias: 0.8, holdout: 300, seed: 5 });
    expect(b).toEqual(a);
    const threeWay = classBiasedSplit(labels, 10, { parts: 3, bias: 0.6, holdout: 300, seed: 5 });
    expect(threeWay.holdout).toEqual(a.holdout);
    const otherSeed = classBiasedSplit(labels, 10, { parts: 2, bias: 0.8, holdout: 300, seed: 6 });
    expect(otherSeed.holdout).not.toEqual(a.holdout);
    expect(otherSeed.parts[0]).not.toEqual(a.parts[0]);
  });

  it('refuses a hold-out that leaves nothing, a bias outside [0, 1] and labels outside the classes', () => {
    const labels = Int32Array.from({ length: 100 }, (_, i) => i % 10);
    expect(() => classBiasedSplit(labels, 10, { parts: 2, bias: 0.8, holdout: 100, seed: 1 })).toThrow(
      /leaves nothing of the 100/,
    );
    expect(() => classBiasedSplit(labels, 10, { parts: 2, bias: 1.5, holdout: 0, seed: 1 })).toThrow(
      /bias must be in \[0, 1\]/,
    );
    expect(() =>
      classBiasedSplit(Int32Array.of(0, 12), 10, { parts: 2, bias: 1, holdout: 0, seed: 1 }),
    ).toThrow(/example 1 has label 12/);
    expect(() =>
      classBiasedSplit(new Int32Array(0), 10, { parts: 2, bias: 0.8, holdout: 0, seed: 1 }),
    ).toThrow(/the source has no examples/);
  });

  it('refuses a split that would leave a part empty', () => {
    // Classes 5-9 only, disjoint: part 1 (classes 0-4) would get nothing.
    const labels = Int32Array.from({ length: 100 }, (_, i) => 5 + (i % 5));
    expect(() => classBiasedSplit(labels, 10, { parts: 2, bias: 1, holdout: 0, seed: 1 })).toThrow(
      /part 1 would get no examples/,
    );
    // One example left after a hold-out of 99: one of the two parts is empty whatever the bias.
    const ten = Int32Array.from({ length: 100 }, (_, i) => i % 10);
    expect(() => classBiasedSplit(ten, 10, { parts: 2, bias: 0.5, holdout: 99, seed: 1 })).toThrow(
      /would get no examples \(1 left after the hold-out/,
    );
  });
});

describe('largestRemainderCounts', () => {
  it('absorbs floating-point error in shares that are whole numbers', () => {
    // 0.1·30 is 3.0000000000000004 and 0.7·30 is 21 in floating point; the counts must be 3, 21, 3, 3.
    expect(largestRemainderCounts(30, [0.1, 0.7, 0.1, 0.1])).toEqual([3, 21, 3, 3]);
    expect(largestRemainderCounts(7, [0.5, 0.5])).toEqual([4, 3]);
  });
});
