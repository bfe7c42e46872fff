/**
 * checkOccurrenceFits, the guard a task worker runs on a cost-product occurrence from the bus before anything is
 * sized by its numbers: an honest occurrence passes; a hostile one (indices out of range, lengths that do not
 * fit, a product far larger than its tensors allow) is refused with BadTaskError.
 */
import { describe, expect, it } from 'vitest';
import type { OccurrenceProductTask } from '../../src/align/occurrence-product.js';
import { BadTaskError } from '../../workers/nats/nats-errors.js';
import { checkOccurrenceFits } from '../../workers/nats/occurrence-fit.js';

const BASE_SHAPE = [4, 6];
const TARGET_SHAPE = [4, 6];
const range = (n: number) => Int32Array.from({ length: n }, (_, i) => i);

/** The rows of a 4×6 weight as the space's 4 units: a 4×4 product of depth 6. */
const honest: OccurrenceProductTask = {
  key: 'w#0#0',
  baseName: 'w',
  targetName: 'w',
  axis: 0,
  baseOffset: 0,
  baseLength: 4,
  targetIndices: [range(4), range(6)],
  rows: 4,
  cols: 4,
  wholeMatrix: false,
};

const check = (task: OccurrenceProductTask) => () =>
  checkOccurrenceFits(task, BASE_SHAPE, TARGET_SHAPE, 'task t');

describe('checkOccurrenceFits', () => {
  it('passes an occurrence that fits its tensors, sliced or whole', () => {
    expect(check(honest)).not.toThrow();
    expect(check({ ...honest, wholeMatrix: true })).not.toThrow();
  });

  it('refuses target indices past the target axis', () => {
    expect(check({ ...honest, targetIndices: [Int32Array.of(0, 1, 2, 4), range(6)] })).toThrow(BadTaskError);
    expect(check({ ...honest, targetIndices: [Int32Array.of(0, 1, 2, -2), range(6)] })).toThrow(BadTaskError);
  });

  it('refuses index arrays, rows or cols whose lengths do not fit', () => {
    expect(check({ ...honest, targetIndices: [range(4)] })).toThrow(BadTaskError);
    expect(check({ ...honest, cols: 5 })).toThrow(BadTaskError);
    expect(check({ ...honest, rows: 5 })).toThrow(BadTaskError);
    expect(check({ ...honest, baseOffset: 2 })).toThrow(BadTaskError);
  });

  it('refuses an empty base slice, which would size a product by rows and cols alone', () => {
    // Zero base entries and one empty index array make every slice 0 values, so any rows × cols "fits":
    // 50000 × 50000 would be a 10 GB product of nothing.
    const empty = { ...honest, baseLength: 0, targetIndices: [new Int32Array(0), range(6)] };
    expect(check({ ...empty, rows: 50_000, cols: 50_000 })).toThrow(BadTaskError);
    expect(check({ ...empty, rows: 50_000, cols: 50_000 })).toThrow(/base entries/);
  });
});
