import type { Dataset } from './dataset.js';

/** The examples at `indices` (in that order) as a data set of their own, with the same classes and shape. */
export function datasetSubset(dataset: Dataset, indices: ArrayLike<number>, name: string): Dataset {
  const size = dataset.exampleShape.reduce((a, b) => a * b, 1);
  const features = new Float32Array(indices.length * size);
  const labels = new Int32Array(indices.length);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k];
    features.set(dataset.features.subarray(i * size, (i + 1) * size), k * size);
    labels[k] = dataset.labels[i];
  }
  return {
    name,
    count: indices.length,
    exampleShape: dataset.exampleShape,
    features,
    labels,
    classes: dataset.classes,
    ...(dataset.classNames === undefined ? {} : { classNames: dataset.classNames }),
  };
}
