import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/random/seeded-random.js';

describe('SeededRandom.fillUint32', () => {
  it('gives the values nextUint32 would, and leaves the generator where those calls would', () => {
    for (const seed of [0, 1, 0xdeadbeef, 2 ** 32 - 1]) {
      const one = new SeededRandom(seed);
      const bulk = new SeededRandom(seed);
      const expected = Uint32Array.from({ length: 1000 }, () => one.nextUint32());
      const got = new Uint32Array(1000);
      bulk.fillUint32(got.subarray(0, 333));
      bulk.fillUint32(got.subarray(333));
      expect(got).toEqual(expected);
      // Mixing the two afterwards stays in step.
      expect(bulk.nextUint32()).toBe(one.nextUint32());
      expect(bulk.normal()).toBe(one.normal());
    }
  });

  it('fills nothing and moves nothing for an empty array', () => {
    const a = new SeededRandom(5);
    const b = new SeededRandom(5);
    a.fillUint32(new Uint32Array(0));
    expect(a.nextUint32()).toBe(b.nextUint32());
  });
});
