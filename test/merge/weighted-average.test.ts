import { describe, expect, it } from 'vitest';
import { IncompatibleModelsError } from '../../src/errors.js';
import { InvalidMergeOptionError } from '../../src/merge/merge-options-error.js';
import { weightedAverage } from '../../src/merge/weighted-average.js';

const a = new Float32Array([1, 2, 3]);
const b = new Float32Array([3, 6, -1]);

describe('weightedAverage', () => {
  it('normalises by the weight sum by default', () => {
    // (1·a + 3·b) / 4 = ([1,2,3] + [9,18,-3]) / 4 = [2.5, 5, 0]
    expect(Array.from(weightedAverage([a, b], [1, 3], { tensorName: 'w' }))).toEqual([2.5, 5, 0]);
  });

  it('returns the plain weighted sum without normalisation', () => {
    // 1·a + 3·b = [10, 20, 0]
    expect(Array.from(weightedAverage([a, b], [1, 3], { tensorName: 'w', normalize: false }))).toEqual([
      10, 20, 0,
    ]);
    // 0.5·a + 0.5·b = [2, 4, 1]
    expect(Array.from(weightedAverage([a, b], [0.5, 0.5], { tensorName: 'w', normalize: false }))).toEqual([
      2, 4, 1,
    ]);
  });

  it('allows cancelling weights when not normalising', () => {
    // a − b = [-2, -4, 4]
    expect(Array.from(weightedAverage([a, b], [1, -1], { tensorName: 'w', normalize: false }))).toEqual([
      -2, -4, 4,
    ]);
  });

  it('returns a new array and leaves its inputs alone', () => {
    const out = weightedAverage([a], [2], { tensorName: 'w' });
    expect(out).not.toBe(a);
    expect(Array.from(out)).toEqual([1, 2, 3]);
    expect(Array.from(a)).toEqual([1, 2, 3]);
  });

  it('rejects tensors of different lengths, naming the tensor', () => {
    const short = new Float32Array([1, 2]);
    expect(() => weightedAverage([a, short], [1, 1], { tensorName: 'layers.0.weight' })).toThrow(
      IncompatibleModelsError,
    );
    expect(() => weightedAverage([a, short], [1, 1], { tensorName: 'layers.0.weight' })).toThrow(
      /tensor 'layers\.0\.weight'.*model 0: 3, model 1: 2/,
    );
  });

  it('rejects a weight count that does not match the models', () => {
    expect(() => weightedAverage([a, b], [1], { tensorName: 'w' })).toThrow(InvalidMergeOptionError);
    expect(() => weightedAverage([a, b], [1], { tensorName: 'w' })).toThrow(
      /'weights' has 1 entries but 2 models/,
    );
  });

  it('rejects non-finite weights', () => {
    expect(() => weightedAverage([a, b], [1, Number.NaN], { tensorName: 'w' })).toThrow(
      /weights' \[1\] must be finite/,
    );
    expect(() => weightedAverage([a, b], [Number.POSITIVE_INFINITY, 1], { tensorName: 'w' })).toThrow(
      InvalidMergeOptionError,
    );
  });

  it('rejects weights that cancel when normalising', () => {
    expect(() => weightedAverage([a, b], [1, -1], { tensorName: 'w' })).toThrow(InvalidMergeOptionError);
    expect(() => weightedAverage([a, b], [0, 0], { tensorName: 'w' })).toThrow(/cannot be normalised/);
  });

  it('rejects an empty model list', () => {
    expect(() => weightedAverage([], [], { tensorName: 'w' })).toThrow(InvalidMergeOptionError);
  });
});
