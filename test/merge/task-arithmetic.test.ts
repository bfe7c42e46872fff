import { describe, expect, it } from 'vitest';
import { IncompatibleModelsError } from '../../src/errors.js';
import { InvalidMergeOptionError } from '../../src/merge/merge-options-error.js';
import { taskArithmetic } from '../../src/merge/task-arithmetic.js';

const base = new Float32Array([1, 1, 1, 1]);
// τ1 = [1, 0, -1, 0], τ2 = [0, 2, 0, -2]
const first = new Float32Array([2, 1, 0, 1]);
const second = new Float32Array([1, 3, 1, -1]);

describe('taskArithmetic', () => {
  it('adds the weighted task vectors to the base', () => {
    // base + 1·τ1 + 0.5·τ2 = [1,1,1,1] + [1,0,-1,0] + [0,1,0,-1] = [2, 2, 0, 0]
    expect(Array.from(taskArithmetic(base, [first, second], [1, 0.5], { tensorName: 'w' }))).toEqual([
      2, 2, 0, 0,
    ]);
  });

  it('subtracts a task vector with a negative weight', () => {
    // base − τ1 = [0, 1, 2, 1]
    expect(Array.from(taskArithmetic(base, [first, second], [-1, 0], { tensorName: 'w' }))).toEqual([
      0, 1, 2, 1,
    ]);
  });

  it('returns a copy of the base when there is nothing to add', () => {
    const out = taskArithmetic(base, [], [], { tensorName: 'w' });
    expect(out).not.toBe(base);
    expect(Array.from(out)).toEqual([1, 1, 1, 1]);
  });

  it('rejects a fine-tuned tensor of another length, naming the tensor', () => {
    const long = new Float32Array(5);
    expect(() => taskArithmetic(base, [first, long], [1, 1], { tensorName: 'fc.bias' })).toThrow(
      IncompatibleModelsError,
    );
    expect(() => taskArithmetic(base, [first, long], [1, 1], { tensorName: 'fc.bias' })).toThrow(
      /tensor 'fc\.bias'.*base: 4, model 0: 4, model 1: 5/,
    );
  });

  it('rejects a wrong weight count and non-finite weights', () => {
    expect(() => taskArithmetic(base, [first, second], [1], { tensorName: 'w' })).toThrow(
      InvalidMergeOptionError,
    );
    expect(() => taskArithmetic(base, [first], [Number.NEGATIVE_INFINITY], { tensorName: 'w' })).toThrow(
      /must be finite/,
    );
  });
});
