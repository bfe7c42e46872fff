import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DEBIAN_FASHION_MNIST_DIR } from '../../src/data/fashion-mnist-files.js';

export const TEST_IMAGES_GZ = join(DEBIAN_FASHION_MNIST_DIR, 't10k-images-idx3-ubyte.gz');
export const TEST_LABELS_GZ = join(DEBIAN_FASHION_MNIST_DIR, 't10k-labels-idx1-ubyte.gz');
export const TRAIN_IMAGES_GZ = join(DEBIAN_FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz');
export const TRAIN_LABELS_GZ = join(DEBIAN_FASHION_MNIST_DIR, 'train-labels-idx1-ubyte.gz');

/**
 * These tests need the real data: rather than skip (and pass) without it, they fail saying how to install it.
 * Call in beforeAll.
 */
export function requireFashionMnist(): void {
  const missing = [TEST_IMAGES_GZ, TEST_LABELS_GZ, TRAIN_IMAGES_GZ, TRAIN_LABELS_GZ].filter(
    (p) => !existsSync(p),
  );
  if (missing.length > 0) {
    throw new Error(
      `Fashion-MNIST is not installed (missing ${missing.join(', ')}); these tests need it: sudo apt-get install dataset-fashion-mnist`,
    );
  }
}

/** The raw decompressed bytes of a file, read without the code under test. */
export function gunzipFile(path: string): Uint8Array {
  return gunzipSync(readFileSync(path));
}
