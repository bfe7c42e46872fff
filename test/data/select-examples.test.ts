import { beforeAll, describe, expect, it } from 'vitest';
import { DataSourceError } from '../../src/data/data-source-error.js';
import type { Dataset } from '../../src/data/dataset.js';
import { loadDataset } from '../../src/data/load-dataset.js';
import { selectExamples } from '../../src/data/source-examples.js';

// The shipped subset needs no installed data, so these run everywhere.
describe('class selection and limit', () => {
  let all: Dataset;
  beforeAll(async () => {
    all = await loadDataset('fashion-mnist:val', { layout: 'flat' });
  });

  function rowsOf(dataset: Dataset, wanted: (label: number) => boolean): number[] {
    const rows: number[] = [];
    dataset.labels.forEach((label, row) => {
      if (wanted(label)) rows.push(row);
    });
    return rows;
  }

  it('keeps the listed classes, relabelled 0..k-1 in the given order, names recording the mapping', async () => {
    const subset = await loadDataset('fashion-mnist:val', { layout: 'image', classes: [9, 0, 5] });
    expect(subset.classes).toBe(3);
    expect(subset.classNames).toEqual(['Ankle boot', 'T-shirt/top', 'Sandal']);
    expect(subset.count).toBe(600);
    expect(subset.exampleShape).toEqual([1, 28, 28]);
    const originalRows = rowsOf(all, (label) => label === 9 || label === 0 || label === 5);
    const newLabel = new Map([
      [9, 0],
      [0, 1],
      [5, 2],
    ]);
    originalRows.forEach((row, k) => {
      expect(subset.labels[k]).toBe(newLabel.get(all.labels[row]));
      expect(subset.features.subarray(k * 784, (k + 1) * 784)).toEqual(
        all.features.subarray(row * 784, (row + 1) * 784),
      );
    });
  });

  it('takes the first n examples', async () => {
    const first = await loadDataset('fashion-mnist:val', { layout: 'flat', limit: 7 });
    expect(first.count).toBe(7);
    expect(first.labels).toEqual(all.labels.subarray(0, 7));
    expect(first.features).toEqual(all.features.subarray(0, 7 * 784));
    expect(first.classes).toBe(10);
  });

  it('applies the limit after class selection', async () => {
    const subset = await loadDataset('fashion-mnist:val', { layout: 'flat', classes: [1], limit: 5 });
    expect(subset.count).toBe(5);
    expect([...subset.labels]).toEqual([0, 0, 0, 0, 0]);
    const row = rowsOf(all, (label) => label === 1)[4];
    expect(subset.features.subarray(4 * 784)).toEqual(all.features.subarray(row * 784, (row + 1) * 784));
  });

  it('keeps everything for a limit beyond the count, nothing for 0', async () => {
    expect((await loadDataset('fashion-mnist:val', { layout: 'flat', limit: 5000 })).count).toBe(2000);
    const none = await loadDataset('fashion-mnist:val', { layout: 'flat', limit: 0 });
    expect(none.count).toBe(0);
    expect(none.features.length).toBe(0);
  });

  it('rejects bad class lists and limits', async () => {
    const cases: [Parameters<typeof loadDataset>[1], RegExp][] = [
      [{ layout: 'flat', classes: [] }, /the class list is empty/],
      [{ layout: 'flat', classes: [3, 10] }, /class 10 is not one of its classes 0\.\.9/],
      [{ layout: 'flat', classes: [1.5] }, /class 1.5 is not one of its classes/],
      [{ layout: 'flat', classes: [2, 2] }, /class 2 is listed twice/],
      [{ layout: 'flat', limit: -1 }, /limit must be a non-negative integer, got -1/],
      [{ layout: 'flat', limit: 2.5 }, /limit must be a non-negative integer/],
    ];
    for (const [options, message] of cases) {
      const error = await loadDataset('fashion-mnist:val', options).catch((e) => e);
      expect(error).toBeInstanceOf(DataSourceError);
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).toMatch(/^fashion-mnist:val: /);
    }
  });

  it('names classes by number when the source has no names', () => {
    const selected = selectExamples(
      {
        name: 'plain',
        count: 3,
        values: Float32Array.from([0.1, 0.2, 0.3]),
        labels: Int32Array.from([2, 0, 2]),
        classes: 3,
        exampleSize: 1,
      },
      { layout: 'flat', classes: [2] },
    );
    expect(selected.classNames).toEqual(['2']);
    expect([...selected.features]).toEqual([Math.fround(0.1), Math.fround(0.3)]);
  });

  it('rejects an unknown layout', () => {
    expect(() =>
      selectExamples(
        {
          name: 'x',
          count: 0,
          values: new Uint8Array(0),
          labels: new Uint8Array(0),
          classes: 1,
          exampleSize: 1,
        },
        { layout: 'volume' as never },
      ),
    ).toThrow(/unknown layout 'volume'/);
  });
});
