import type { SeededRandom } from './seeded-random.js';

const UNIFORMS_PER_SAMPLE = 4;
const UNIFORM_LEVELS = 65536;
/** Variance of one uniform 16-bit integer: (L² − 1) / 12. */
const UNIFORM_VARIANCE = (UNIFORM_LEVELS * UNIFORM_LEVELS - 1) / 12;
const SUM_MEAN = (UNIFORMS_PER_SAMPLE * (UNIFORM_LEVELS - 1)) / 2;
const SUM_STD = Math.sqrt(UNIFORMS_PER_SAMPLE * UNIFORM_VARIANCE);
/** Largest |sample| / std: the sum of four uniforms stops at √12 standard deviations. */
export const IRWIN_HALL_NORMAL_BOUND = SUM_MEAN / SUM_STD;
const CHUNK_WORDS = 1 << 16;

/**
 * Fills `out` with `mean + std · z`, where z is the standardized sum of four uniform 16-bit integers (two per
 * 32-bit draw): the Irwin–Hall approximation of a normal, bell-shaped with mean 0 and variance 1 exactly but
 * bounded at ±√12 (kurtosis 2.7 against a normal's 3). For synthetic weights by the hundred million it is about
 * eight times as fast as Box–Muller one sample at a time, since it needs no log, sqrt or cos.
 */
export function fillIrwinHallNormal(random: SeededRandom, out: Float32Array, std = 1, mean = 0): void {
  const words = new Uint32Array(Math.min(CHUNK_WORDS, 2 * out.length));
  const k = std / SUM_STD;
  const offset = mean - SUM_MEAN * k;
  for (let start = 0; start < out.length; start += words.length / 2) {
    const end = Math.min(out.length, start + words.length / 2);
    random.fillUint32(words.length === 2 * (end - start) ? words : words.subarray(0, 2 * (end - start)));
    for (let i = start, j = 0; i < end; i++, j += 2) {
      const a = words[j];
      const b = words[j + 1];
      out[i] = ((a & 0xffff) + (a >>> 16) + (b & 0xffff) + (b >>> 16)) * k + offset;
    }
  }
}
