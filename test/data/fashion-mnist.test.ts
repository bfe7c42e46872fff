import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DataSourceError } from '../../src/data/data-source-error.js';
import type { Dataset } from '../../src/data/dataset.js';
import { DATA_DIR_ENV, DEBIAN_FASHION_MNIST_DIR } from '../../src/data/fashion-mnist-files.js';
import { loadDataset } from '../../src/data/load-dataset.js';
import {
  gunzipFile,
  requireFashionMnist,
  TEST_IMAGES_GZ,
  TEST_LABELS_GZ,
  TRAIN_LABELS_GZ,
} from './fashion-mnist-required.js';

function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

/** The first `n` images and labels of the raw test files, as IDX bytes with the counts rewritten. */
function firstOfTestSet(n: number): { images: Uint8Array; labels: Uint8Array } {
  const images = gunzipFile(TEST_IMAGES_GZ).slice(0, 16 + n * 784);
  const labels = gunzipFile(TEST_LABELS_GZ).slice(0, 8 + n);
  new DataView(images.buffer).setUint32(4, n, false);
  new DataView(labels.buffer).setUint32(4, n, false);
  return { images, labels };
}

describe('fashion-mnist:test (needs the Debian package dataset-fashion-mnist)', () => {
  let test: Dataset;
  let rawImages: Uint8Array;
  let rawLabels: Uint8Array;

  beforeAll(async () => {
    requireFashionMnist();
    test = await loadDataset('fashion-mnist:test', { layout: 'image' });
    rawImages = gunzipFile(TEST_IMAGES_GZ);
    rawLabels = gunzipFile(TEST_LABELS_GZ);
  });

  it('holds 10 000 images of 1×28×28 with labels in 0..9 covering all ten classes', () => {
    expect(test.name).toBe('fashion-mnist:test');
    expect(test.count).toBe(10_000);
    expect(test.exampleShape).toEqual([1, 28, 28]);
    expect(test.features.length).toBe(10_000 * 784);
    expect(test.labels.length).toBe(10_000);
    expect(test.classes).toBe(10);
    const perClass = new Array<number>(10).fill(0);
    for (const label of test.labels) perClass[label] += 1;
    expect(perClass).toEqual(new Array(10).fill(1000));
  });

  it('has pixels in [0, 1], reaching both ends', () => {
    let min = Infinity;
    let max = -Infinity;
    for (const v of test.features) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    expect([min, max]).toEqual([0, 1]);
  });

  it("starts with an ankle boot (label 9), as the raw label file's first byte after the header says", () => {
    // Independent of the parser: a label file has an 8-byte header, magic 0x00000801 then the count 10 000.
    expect([...rawLabels.subarray(0, 8)]).toEqual([0, 0, 8, 1, 0, 0, 0x27, 0x10]);
    expect(rawLabels[8]).toBe(9);
    expect(test.labels[0]).toBe(9);
    expect(test.classNames?.[test.labels[0]]).toBe('Ankle boot');
    expect(test.classNames).toEqual([
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
    ]);
  });

  it('matches the raw bytes (16-byte image header) scaled by 1/255, for the first and last image', () => {
    for (const index of [0, 9_999]) {
      const raw = rawImages.subarray(16 + index * 784, 16 + (index + 1) * 784);
      const loaded = test.features.subarray(index * 784, (index + 1) * 784);
      expect(Array.from(loaded, (v) => Math.round(v * 255))).toEqual([...raw]);
      expect(test.labels[index]).toBe(rawLabels[8 + index]);
    }
  });

  it('gives the same values in the flat layout, shape [784]', async () => {
    const flat = await loadDataset('fashion-mnist:test', { layout: 'flat' });
    expect(flat.exampleShape).toEqual([784]);
    // Byte comparison: toEqual over 7.8 million elements takes minutes.
    expect(sameBytes(flat.features, test.features)).toBe(true);
  });
});

describe('fashion-mnist:train (needs the Debian package dataset-fashion-mnist)', () => {
  beforeAll(() => {
    requireFashionMnist();
  });

  it('holds 60 000 images, 6 000 per class', async () => {
    const train = await loadDataset('fashion-mnist:train', { layout: 'flat' });
    expect(train.count).toBe(60_000);
    expect(train.features.length).toBe(60_000 * 784);
    const perClass = new Array<number>(10).fill(0);
    for (const label of train.labels) perClass[label] += 1;
    expect(perClass).toEqual(new Array(10).fill(6000));
    expect(train.labels[0]).toBe(gunzipFile(TRAIN_LABELS_GZ)[8]);
  });
});

describe('where Fashion-MNIST is looked for', () => {
  let dir: string;
  const savedEnv = process.env[DATA_DIR_ENV];

  beforeAll(async () => {
    requireFashionMnist();
    dir = await mkdtemp(join(tmpdir(), 'mal-data-'));
  });
  afterEach(() => {
    if (savedEnv === undefined) delete process.env[DATA_DIR_ENV];
    else process.env[DATA_DIR_ENV] = savedEnv;
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reports every path tried and every way to fix it', async () => {
    const empty = join(dir, 'empty');
    await mkdir(empty);
    const error = await loadDataset('fashion-mnist:test', { layout: 'flat', dataDir: empty }).catch((e) => e);
    expect(error).toBeInstanceOf(DataSourceError);
    const message = (error as Error).message;
    for (const folder of [empty, join(empty, 'fashion-mnist')]) {
      for (const name of ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) {
        expect(message).toContain(`${join(folder, name)}.gz (missing)`);
        expect(message).toContain(`${join(folder, name)} (missing)`);
      }
    }
    expect(message).toContain('apt-get install dataset-fashion-mnist');
    expect(message).toContain('--data-dir');
    expect(message).toContain(DATA_DIR_ENV);
    expect(message).toContain('fashion-mnist:val');
    expect(message).not.toContain(`${DEBIAN_FASHION_MNIST_DIR}/t10k`);
  });

  it('marks a half-present pair', async () => {
    const half = join(dir, 'half');
    await mkdir(half);
    await copyFile(TEST_LABELS_GZ, join(half, 't10k-labels-idx1-ubyte.gz'));
    await expect(loadDataset('fashion-mnist:test', { layout: 'flat', dataDir: half })).rejects.toThrow(
      `${join(half, 't10k-labels-idx1-ubyte.gz')} (present)`,
    );
  });

  it('reads uncompressed files from the fashion-mnist/ subfolder of --data-dir', async () => {
    const root = join(dir, 'option');
    await mkdir(join(root, 'fashion-mnist'), { recursive: true });
    const { images, labels } = firstOfTestSet(100);
    await writeFile(join(root, 'fashion-mnist', 't10k-images-idx3-ubyte'), images);
    await writeFile(join(root, 'fashion-mnist', 't10k-labels-idx1-ubyte'), labels);
    process.env[DATA_DIR_ENV] = join(dir, 'does-not-exist');
    const loaded = await loadDataset('fashion-mnist:test', { layout: 'flat', dataDir: root });
    expect(loaded.count).toBe(100);
    const installed = await loadDataset('fashion-mnist:test', {
      layout: 'flat',
      limit: 1,
      dataDir: DEBIAN_FASHION_MNIST_DIR,
    });
    expect(loaded.features.subarray(0, 784)).toEqual(installed.features);
  });

  it('reads gzipped files from MAL_DATA_DIR', async () => {
    const root = join(dir, 'env');
    await mkdir(root);
    const { images, labels } = firstOfTestSet(50);
    await writeFile(join(root, 't10k-images-idx3-ubyte.gz'), gzipSync(images));
    await writeFile(join(root, 't10k-labels-idx1-ubyte.gz'), gzipSync(labels));
    process.env[DATA_DIR_ENV] = root;
    const loaded = await loadDataset('fashion-mnist:test', { layout: 'image' });
    expect(loaded.count).toBe(50);
    expect(loaded.labels[0]).toBe(9);
  });

  it('names the file when one is corrupt', async () => {
    const root = join(dir, 'corrupt');
    await mkdir(root);
    const { images, labels } = firstOfTestSet(10);
    const imagesPath = join(root, 't10k-images-idx3-ubyte');
    await writeFile(imagesPath, images.subarray(0, images.length - 100));
    await writeFile(join(root, 't10k-labels-idx1-ubyte'), labels);
    await expect(loadDataset('fashion-mnist:test', { layout: 'flat', dataDir: root })).rejects.toThrow(
      `${imagesPath}: truncated: the header promises 10 images of 28×28 (7840 bytes of data), the file holds 7740`,
    );
  });
});
