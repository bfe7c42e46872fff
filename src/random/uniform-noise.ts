import type { SeededRandom } from './seeded-random.js';

const CHUNK_WORDS = 1 << 16;
/** A uniform on [−h, h] has standard deviation h / √3. */
const HALF_WIDTH_PER_STD = Math.sqrt(3);

/**
 * Adds zero-mean uniform noise of standard deviation `std` to every entry of `data` (one 32-bit draw each): the
 * cheapest perturbation whose size is set by its standard deviation, for synthetic copies that must stay
 * recognisably the same weights.
 */
export function addUniformNoise(random: SeededRandom, data: Float32Array, std: number): void {
  const words = new Uint32Array(Math.min(CHUNK_WORDS, data.length));
  const k = (2 * HALF_WIDTH_PER_STD * std) / 4294967296;
  const offset = -HALF_WIDTH_PER_STD * std;
  for (let start = 0; start < data.length; start += words.length) {
    const end = Math.min(data.length, start + words.length);
    random.fillUint32(words.length === end - start ? words : words.subarray(0, end - start));
    for (let i = start, j = 0; i < end; i++, j++) data[i] += words[j] * k + offset;
  }
}
