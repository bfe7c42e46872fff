/**
 * The worker's caches (tensors, data sets, statistics examples) are bounded in bytes: each value is loaded once
 * however many tasks ask at once, the least recently used go first past the bound, and a failed load is not kept.
 */
import { describe, expect, it } from 'vitest';
import { ByteLruCache } from '../../src/store/byte-lru-cache.js';

/** A cache of byte arrays whose loads are counted per key. */
function counted(maxBytes: number) {
  const cache = new ByteLruCache<Uint8Array>(maxBytes, (v) => v.byteLength);
  const loads = new Map<string, number>();
  const get = (key: string, bytes: number) =>
    cache.get(key, async () => {
      loads.set(key, (loads.get(key) ?? 0) + 1);
      return new Uint8Array(bytes);
    });
  return { cache, loads, get };
}

describe('ByteLruCache', () => {
  it('loads a value once for concurrent requests and answers later ones from memory', async () => {
    const { cache, loads, get } = counted(1000);
    const [a, b] = await Promise.all([get('a', 10), get('a', 10)]);
    expect(a).toBe(b);
    expect(await get('a', 10)).toBe(a);
    expect(loads.get('a')).toBe(1);
    expect(cache.hits).toBe(2);
  });

  it('drops the least recently used past its bound, and keeps the newest even alone over it', async () => {
    const { cache, loads, get } = counted(250);
    await get('a', 100);
    await get('b', 100);
    await get('a', 100); // a is now more recent than b
    await get('c', 100); // 300 > 250: b goes
    expect(cache.heldBytes).toBe(200);
    await get('a', 100);
    await get('b', 100);
    expect(loads.get('a')).toBe(1);
    expect(loads.get('b')).toBe(2);
    await get('huge', 1000);
    expect(cache.size).toBe(1);
    expect(cache.heldBytes).toBe(1000);
  });

  it('does not keep a failed load', async () => {
    const cache = new ByteLruCache<Uint8Array>(100, (v) => v.byteLength);
    await expect(cache.get('x', () => Promise.reject(new Error('gone')))).rejects.toThrow('gone');
    expect(cache.size).toBe(0);
    expect(await cache.get('x', async () => new Uint8Array(3))).toHaveLength(3);
  });
});
