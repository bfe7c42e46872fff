import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  accuracyOf,
  concatenate,
  correctness,
  gapClosed,
} from '../../../scripts/experiment-splits/scores.js';

/** Independent reference: arg-max by sorting indices by (value desc, index asc), in float64. */
function referenceCorrect(logits: number[][], labels: number[]): number[] {
  return logits.map((row, i) => {
    const order = row.map((v, c) => [v, c] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
    return order[0][1] === labels[i] ? 1 : 0;
  });
}

describe('experiment scores', () => {
  it('marks an example correct exactly when its arg-max (first on ties) is the label', () => {
    const rows = fc.array(fc.array(fc.integer({ min: -3, max: 3 }), { minLength: 4, maxLength: 4 }), {
      minLength: 1,
      maxLength: 40,
    });
    fc.assert(
      fc.property(rows, fc.infiniteStream(fc.integer({ min: 0, max: 3 })), (logits, labelStream) => {
        const labels = logits.map(() => labelStream.next().value as number);
        const table = { logits: Float32Array.from(logits.flat()), classes: 4 };
        const got = correctness(table, Int32Array.from(labels));
        const expected = referenceCorrect(logits, labels);
        expect([...got]).toEqual(expected);
        expect(accuracyOf(got)).toBeCloseTo(expected.reduce((a, b) => a + b, 0) / expected.length, 12);
      }),
    );
  });

  it('breaks a tie in favour of the first class', () => {
    const table = { logits: Float32Array.from([1, 1, 0, 2, 0, 2]), classes: 3 };
    expect([...correctness(table, Int32Array.from([1, 2]))]).toEqual([0, 0]);
    expect([...correctness(table, Int32Array.from([0, 0]))]).toEqual([1, 1]);
    expect([...correctness(table, Int32Array.from([0, 2]))]).toEqual([1, 0]);
  });

  it('refuses logits that do not match the labels', () => {
    expect(() => correctness({ logits: new Float32Array(5), classes: 2 }, new Int32Array(3))).toThrow(
      /5 logits are not 3 examples × 2 classes/,
    );
  });

  it('measures the gap closed from the best single model to the ensemble', () => {
    expect(gapClosed(0.86, 0.85, 0.87)).toBeCloseTo(0.5, 12);
    expect(gapClosed(0.84, 0.85, 0.87)).toBeCloseTo(-0.5, 12);
    expect(gapClosed(0.9, 0.85, 0.85)).toBeNull();
    expect(gapClosed(0.9, 0.86, 0.85)).toBeNull();
  });

  it('concatenates score lists in order', () => {
    expect([
      ...concatenate([Uint8Array.from([1, 0]), new Uint8Array(0), Uint8Array.from([0, 1, 1])]),
    ]).toEqual([1, 0, 0, 1, 1]);
  });
});
