import { InvalidFileError } from '../errors.js';
import { readMaybeGzipped } from './compressed-file.js';
import {
  type FashionMnistFiles,
  type FashionMnistSplit,
  fashionMnistDirectories,
  locateFashionMnistFiles,
} from './fashion-mnist-files.js';
import { parseIdxImages, parseIdxLabels } from './idx-file.js';
import type { SourceExamples } from './source-examples.js';

/** Class names in label order, as Zalando's Fashion-MNIST README lists them. */
export const FASHION_MNIST_CLASS_NAMES: readonly string[] = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

/** Reads and checks one split's pair of IDX files: same count, labels within the ten classes. */
export async function readFashionMnistFiles(name: string, files: FashionMnistFiles): Promise<SourceExamples> {
  const [imageBytes, labelBytes] = await Promise.all([
    readMaybeGzipped(files.images),
    readMaybeGzipped(files.labels),
  ]);
  const images = parseIdxImages(imageBytes, files.images);
  const labels = parseIdxLabels(labelBytes, files.labels);
  if (labels.length !== images.count) {
    throw new InvalidFileError(
      files.labels,
      `holds ${labels.length} labels but ${files.images} holds ${images.count} images`,
    );
  }
  const classes = FASHION_MNIST_CLASS_NAMES.length;
  const bad = labels.findIndex((label) => label >= classes);
  if (bad >= 0) {
    throw new InvalidFileError(
      files.labels,
      `label ${labels[bad]} at index ${bad} is not a class 0..${classes - 1}`,
    );
  }
  return {
    name,
    count: images.count,
    values: images.pixels,
    labels,
    classes,
    classNames: FASHION_MNIST_CLASS_NAMES,
    exampleSize: images.rows * images.columns,
    imageShape: [1, images.rows, images.columns],
  };
}

/** Loads a Fashion-MNIST split from the first folder (see fashionMnistDirectories) that holds its files. */
export async function loadFashionMnist(split: FashionMnistSplit, dataDir?: string): Promise<SourceExamples> {
  const files = await locateFashionMnistFiles(split, fashionMnistDirectories(dataDir));
  return readFashionMnistFiles(`fashion-mnist:${split}`, files);
}
