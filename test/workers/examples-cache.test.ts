/**
 * A task worker's statistics examples come from a peer: a blob of the wrong rank, one larger than the worker's
 * tensor memory, or one holding NaN or ∞ is refused with a BadTaskError (recorded as the task's failure), and a
 * refused blob is not kept, so a later task can still fetch a good one under another hash.
 */
import { describe, expect, it } from 'vitest';
import type { FloatTensor } from '../../src/tensor/tensor.js';
import { ExamplesCache } from '../../workers/nats/examples-cache.js';
import { BadTaskError } from '../../workers/nats/nats-errors.js';

const blobs = new Map<string, FloatTensor>([
  ['good', { shape: [2, 3], data: Float32Array.of(0, 1, 2, 3, 4, 5) }],
  ['nan', { shape: [2, 3], data: Float32Array.of(0, 1, Number.NaN, 3, 4, 5) }],
  ['inf', { shape: [1, 2], data: Float32Array.of(Number.POSITIVE_INFINITY, 0) }],
  ['flat', { shape: [6], data: new Float32Array(6) }],
  ['big', { shape: [1000, 10], data: new Float32Array(10_000) }],
]);

function cache(): ExamplesCache {
  return new ExamplesCache(async (hash) => {
    const tensor = blobs.get(hash);
    if (tensor === undefined) throw new Error(`no blob ${hash}`);
    return tensor;
  }, 1 << 20);
}

describe('ExamplesCache', () => {
  it('refuses non-finite, rank-1 and oversized examples with a BadTaskError', async () => {
    const examples = cache();
    await expect(examples.get('nan', 1 << 20)).rejects.toThrow(BadTaskError);
    await expect(examples.get('nan', 1 << 20)).rejects.toThrow(/value 2 is NaN; examples must be finite/);
    await expect(examples.get('inf', 1 << 20)).rejects.toThrow(/value 0 is Infinity/);
    await expect(examples.get('flat', 1 << 20)).rejects.toThrow(/shape \[6\] is not \[count ≥ 1/);
    await expect(examples.get('big', 1000)).rejects.toThrow(
      /40000 bytes, more than this worker's tensor memory/,
    );
  });

  it('serves good examples as a data set of their shape', async () => {
    const data = await cache().get('good', 1 << 20);
    expect(data.count).toBe(2);
    expect(data.exampleShape).toEqual([3]);
    expect(Array.from(data.features)).toEqual([0, 1, 2, 3, 4, 5]);
  });
});
