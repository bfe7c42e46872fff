// A worker's evaluation batches of a language model: its token sequences come from the tensor store by hash, are
// checked (shape, ids below the vocabulary) and cut to the batch's range in shared memory, loaded once per range.
import { describe, expect, it } from 'vitest';
import type { FloatTensor } from '../../src/tensor/tensor.js';
import { DatasetCache } from '../../workers/nats/dataset-cache.js';
import { BadTaskError } from '../../workers/nats/nats-errors.js';

const text = { tokens: 'c'.repeat(64), tokenizer: 'bytes', vocabulary: 256 };

const budget = 1 << 20;

function cacheOf(tokens: FloatTensor): { cache: DatasetCache; fetched: () => number } {
  let fetched = 0;
  const cache = new DatasetCache(undefined, budget, async (hash, maxBytes) => {
    if (hash !== text.tokens) throw new Error(`asked for ${hash}`);
    // Bounded by the data budget, so an oversized tensor is refused before it is downloaded.
    expect(maxBytes).toBe(budget);
    fetched++;
    return tokens;
  });
  return { cache, fetched: () => fetched };
}

const batch = (start: number, end: number | null) => ({ text, name: 'fortunes:en:test', start, end });

describe('token batches in the dataset cache', () => {
  it('cuts the sequences [start, end) from one checked copy in shared memory, as many as there are past the end', async () => {
    // Four sequences of context 2 + 1.
    const tokens = { shape: [4, 3], data: Float32Array.from({ length: 12 }, (_, i) => i) };
    const { cache, fetched } = cacheOf(tokens);
    const first = await cache.get(batch(0, 2));
    expect(first.count).toBe(2);
    expect(first.exampleShape).toEqual([3]);
    expect([...first.features]).toEqual([0, 1, 2, 3, 4, 5]);
    expect(first.features.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(first.tokens).toEqual({ tokenizer: 'bytes', vocabulary: 256 });
    expect(first.classes).toBe(256);
    const rest = await cache.get(batch(1, null));
    expect([...rest.features]).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect((await cache.get(batch(2, 40))).count).toBe(2);
    expect(await cache.get(batch(0, 2))).toBe(first);
    expect(rest.features.buffer).toBe(first.features.buffer);
    expect(first.name).toBe('fortunes:en:test');
    expect(fetched()).toBe(1);
  });

  it('refuses ids outside the vocabulary and sequences that are not a [count, context + 1] matrix', async () => {
    const outside = cacheOf({ shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 256, 6]) });
    await expect(outside.cache.get(batch(0, null))).rejects.toThrow(BadTaskError);
    await expect(outside.cache.get(batch(0, null))).rejects.toThrow(
      /fortunes:en:test \(token sequences c{64}\): token 4 of c{64} is 256, not an id below the vocabulary \(256\)/,
    );
    const fractional = cacheOf({ shape: [1, 3], data: new Float32Array([1, 2.5, 3]) });
    await expect(fractional.cache.get(batch(0, null))).rejects.toThrow(/token 1 of c{64} is 2.5/);
    const flat = cacheOf({ shape: [6], data: new Float32Array(6) });
    await expect(flat.cache.get(batch(0, null))).rejects.toThrow(
      /have shape \[6\], not \[sequences ≥ 1, context \+ 1 ≥ 2\]/,
    );
  });
});
