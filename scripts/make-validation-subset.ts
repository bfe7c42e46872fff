/**
 * Makes data/fashion-mnist-val.arrow, the `fashion-mnist:val` subset the repository ships: 2 000 Fashion-MNIST
 * test images, the first 200 of each class in test-file order, kept in that order, stored as uint8 pixels with
 * their labels (see src/data/fashion-mnist-val.ts and src/data/dataset-arrow-format.ts).
 *
 *   npx tsx scripts/make-validation-subset.ts [--data-dir DIR] [--out PATH]
 *
 * Reads the test files from /usr/share/datasets/fashion-mnist (Debian package dataset-fashion-mnist), or from
 * --data-dir / MAL_DATA_DIR. The output is deterministic: rerunning it gives the same bytes.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeDatasetArrow } from '../src/data/dataset-arrow-writer.js';
import { loadFashionMnist } from '../src/data/fashion-mnist.js';
import { chooseValidationIndices, VALIDATION_PER_CLASS } from '../src/data/fashion-mnist-val.js';
import { selectExamples } from '../src/data/source-examples.js';

const { values: args } = parseArgs({
  options: { 'data-dir': { type: 'string' }, out: { type: 'string' } },
});
const out = args.out ?? fileURLToPath(new URL('../data/fashion-mnist-val.arrow', import.meta.url));

const test = await loadFashionMnist('test', args['data-dir']);
const indices = chooseValidationIndices(test.labels, test.classes, VALIDATION_PER_CLASS);
const size = test.exampleSize;
const pixels = new Uint8Array(indices.length * size);
const labels = new Uint8Array(indices.length);
indices.forEach((index, row) => {
  pixels.set(test.values.subarray(index * size, (index + 1) * size), row * size);
  labels[row] = test.labels[index];
});
const subset = selectExamples(
  { ...test, name: 'fashion-mnist:val', count: indices.length, values: pixels, labels },
  { layout: 'image' },
);
await writeDatasetArrow(out, subset, {
  encoding: 'uint8',
  metadata: {
    'mal.source': `fashion-mnist:test, the first ${VALIDATION_PER_CLASS} images of each class in test-file order`,
  },
});
console.log(`wrote ${subset.count} examples (${VALIDATION_PER_CLASS} per class) to ${out}`);
