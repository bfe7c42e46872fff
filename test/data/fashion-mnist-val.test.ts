import { beforeAll, describe, expect, it } from 'vitest';
import type { Dataset } from '../../src/data/dataset.js';
import { chooseValidationIndices } from '../../src/data/fashion-mnist-val.js';
import { loadDataset } from '../../src/data/load-dataset.js';
import { gunzipFile, requireFashionMnist, TEST_IMAGES_GZ, TEST_LABELS_GZ } from './fashion-mnist-required.js';

describe('fashion-mnist:val (the shipped subset)', () => {
  let val: Dataset;
  beforeAll(async () => {
    val = await loadDataset('fashion-mnist:val', { layout: 'image' });
  });

  it('holds 2 000 images of 1×28×28, 200 per class, with the Fashion-MNIST class names', () => {
    expect(val.name).toBe('fashion-mnist:val');
    expect(val.count).toBe(2000);
    expect(val.exampleShape).toEqual([1, 28, 28]);
    expect(val.features.length).toBe(2000 * 784);
    expect(val.classes).toBe(10);
    expect(val.classNames?.[9]).toBe('Ankle boot');
    const perClass = new Array<number>(10).fill(0);
    for (const label of val.labels) perClass[label] += 1;
    expect(perClass).toEqual(new Array(10).fill(200));
    let min = Infinity;
    let max = -Infinity;
    for (const v of val.features) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    expect([min, max]).toEqual([0, 1]);
  });

  it('loads flat too', async () => {
    const flat = await loadDataset('fashion-mnist:val', { layout: 'flat' });
    expect(flat.exampleShape).toEqual([784]);
    expect(flat.count).toBe(2000);
  });

  describe('against the raw test files (needs the Debian package dataset-fashion-mnist)', () => {
    let rawImages: Uint8Array;
    let rawLabels: Uint8Array;
    beforeAll(() => {
      requireFashionMnist();
      rawImages = gunzipFile(TEST_IMAGES_GZ);
      rawLabels = gunzipFile(TEST_LABELS_GZ);
    });

    function rawImage(index: number): number[] {
      return [...rawImages.subarray(16 + index * 784, 16 + (index + 1) * 784)];
    }
    function valImage(row: number): number[] {
      return Array.from(val.features.subarray(row * 784, (row + 1) * 784), (v) => Math.round(v * 255));
    }

    it('starts with the first test image', () => {
      expect(val.labels[0]).toBe(rawLabels[8]);
      expect(valImage(0)).toEqual(rawImage(0));
    });

    it('gives its first image exactly the values fashion-mnist:test gives the same image', async () => {
      const test = await loadDataset('fashion-mnist:test', { layout: 'image', limit: 1 });
      expect(val.features.subarray(0, 784)).toEqual(test.features);
    });

    it('is the first 200 test images of each class, in test order, every pixel exactly p/255', () => {
      // The rule, computed here from the raw label bytes without the code under test.
      const taken = new Array<number>(10).fill(0);
      const expected: number[] = [];
      for (let i = 0; i < 10_000; i += 1) {
        const label = rawLabels[8 + i];
        if (taken[label] < 200) {
          taken[label] += 1;
          expected.push(i);
        }
      }
      expect(expected.length).toBe(2000);
      expected.forEach((index, row) => {
        expect(val.labels[row]).toBe(rawLabels[8 + index]);
        const pixels = val.features.subarray(row * 784, (row + 1) * 784);
        const raw = rawImages.subarray(16 + index * 784, 16 + (index + 1) * 784);
        for (let k = 0; k < 784; k += 1) {
          if (pixels[k] !== Math.fround(raw[k] / 255)) {
            throw new Error(
              `val row ${row} pixel ${k}: ${pixels[k]}, test image ${index} has byte ${raw[k]}`,
            );
          }
        }
      });
    });
  });
});

describe('chooseValidationIndices', () => {
  it('takes the first n of each class and keeps file order', () => {
    expect(chooseValidationIndices([1, 0, 1, 1, 0, 2, 0, 2], 3, 2)).toEqual([0, 1, 2, 4, 5, 7]);
  });

  it('refuses when a class is short', () => {
    expect(() => chooseValidationIndices([1, 0, 1], 3, 1)).toThrow(
      /class 2 has 0 examples, fewer than the 1/,
    );
  });
});
