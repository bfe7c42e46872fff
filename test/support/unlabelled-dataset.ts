import type { Dataset } from '../../src/data/dataset.js';

/**
 * Rows of numbers as a data set for activation statistics: one example per row, in float32, every label 0 (the
 * statistics never read them). `exampleShape` defaults to the flat row.
 */
export function unlabelledDataset(
  rows: readonly Float64Array[],
  exampleShape: readonly number[] = [rows[0].length],
): Dataset {
  const size = rows[0].length;
  const features = new Float32Array(rows.length * size);
  rows.forEach((row, n) => {
    features.set(row, n * size);
  });
  return {
    name: 'random',
    count: rows.length,
    exampleShape,
    features,
    labels: new Int32Array(rows.length),
    classes: 1,
  };
}
