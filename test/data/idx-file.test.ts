import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMaybeGzipped } from '../../src/data/compressed-file.js';
import { readFashionMnistFiles } from '../../src/data/fashion-mnist.js';
import { parseIdxImages, parseIdxLabels } from '../../src/data/idx-file.js';
import { InvalidFileError } from '../../src/errors.js';

/** Big-endian IDX bytes: magic, dims, then the elements. */
function idx(magic: number, dims: number[], data: number[]): Uint8Array {
  const bytes = new Uint8Array(4 + 4 * dims.length + data.length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, magic, false);
  dims.forEach((d, i) => {
    view.setUint32(4 + 4 * i, d, false);
  });
  bytes.set(data, 4 + 4 * dims.length);
  return bytes;
}

const TWO_IMAGES = idx(0x803, [2, 2, 3], [0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255]);

describe('parseIdxImages', () => {
  it('reads count, rows, columns and the pixels row-major', () => {
    const images = parseIdxImages(TWO_IMAGES, 'images.idx');
    expect(images).toMatchObject({ count: 2, rows: 2, columns: 3 });
    expect([...images.pixels]).toEqual([0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255]);
  });

  it('accepts an empty set of images', () => {
    expect(parseIdxImages(idx(0x803, [0, 28, 28], []), 'f').count).toBe(0);
  });

  it('rejects a wrong magic number, naming the file and both numbers', () => {
    expect(() => parseIdxImages(idx(0x801, [2], [1, 2]), 'labels.idx')).toThrow(
      /^labels\.idx: not an IDX image file: magic number 0x00000801, expected 0x00000803$/,
    );
    expect(() => parseIdxImages(idx(0x80d, [1, 1, 1], [0, 0, 0, 0]), 'f')).toThrow(/magic number 0x0000080d/);
  });

  it('says when the bytes are still gzip-compressed', () => {
    expect(() => parseIdxImages(gzipSync(TWO_IMAGES), 'x.idx')).toThrow(/gzip-compressed/);
  });

  it('rejects a truncated header', () => {
    expect(() => parseIdxImages(TWO_IMAGES.subarray(0, 10), 'short')).toThrow(
      /^short: truncated IDX header: 10 bytes, an IDX image header needs 16$/,
    );
    expect(() => parseIdxImages(new Uint8Array(0), 'empty')).toThrow(/truncated IDX header: 0 bytes/);
  });

  it('rejects truncated pixel data with the promised and held sizes', () => {
    const error = (() => {
      try {
        parseIdxImages(TWO_IMAGES.subarray(0, TWO_IMAGES.length - 1), 'cut.idx');
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(InvalidFileError);
    expect((error as InvalidFileError).file).toBe('cut.idx');
    expect((error as Error).message).toBe(
      'cut.idx: truncated: the header promises 2 images of 2×3 (12 bytes of data), the file holds 11',
    );
  });

  it('rejects trailing bytes', () => {
    const long = new Uint8Array(TWO_IMAGES.length + 3);
    long.set(TWO_IMAGES);
    expect(() => parseIdxImages(long, 'long.idx')).toThrow(
      /^long\.idx: 3 unexpected bytes after the 2 images of 2×3 the header promises/,
    );
  });

  it('rejects empty images', () => {
    expect(() => parseIdxImages(idx(0x803, [2, 0, 28], []), 'f')).toThrow(/image size 0×28 is empty/);
  });
});

describe('parseIdxLabels', () => {
  it('reads the labels', () => {
    expect([...parseIdxLabels(idx(0x801, [3], [9, 0, 7]), 'l')]).toEqual([9, 0, 7]);
  });

  it('rejects image files, truncation and trailing bytes', () => {
    expect(() => parseIdxLabels(TWO_IMAGES, 'img')).toThrow(/not an IDX label file: magic number 0x00000803/);
    expect(() => parseIdxLabels(idx(0x801, [3], [9, 0]), 'l')).toThrow(
      /^l: truncated: the header promises 3 labels \(3 bytes of data\), the file holds 2$/,
    );
    expect(() => parseIdxLabels(idx(0x801, [1], [9, 0]), 'l')).toThrow(
      /1 unexpected bytes after the 1 labels/,
    );
    expect(() => parseIdxLabels(new Uint8Array([0, 0, 8, 1, 0]), 'l')).toThrow(/truncated IDX header/);
  });
});

describe('Fashion-MNIST file pair', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mal-idx-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function pair(images: Uint8Array, labels: Uint8Array): Promise<{ images: string; labels: string }> {
    const files = { images: join(dir, 'i'), labels: join(dir, 'l.gz') };
    await writeFile(files.images, images);
    await writeFile(files.labels, gzipSync(labels));
    return files;
  }

  it('reads plain and gzipped files alike', async () => {
    const files = await pair(TWO_IMAGES, idx(0x801, [2], [3, 9]));
    const examples = await readFashionMnistFiles('t', files);
    expect(examples).toMatchObject({ count: 2, exampleSize: 6, imageShape: [1, 2, 3], classes: 10 });
    expect([...examples.labels]).toEqual([3, 9]);
  });

  it('rejects a count mismatch, naming both files', async () => {
    const files = await pair(TWO_IMAGES, idx(0x801, [3], [3, 9, 1]));
    await expect(readFashionMnistFiles('t', files)).rejects.toThrow(
      `${files.labels}: holds 3 labels but ${files.images} holds 2 images`,
    );
  });

  it('rejects a label outside the ten classes', async () => {
    const files = await pair(TWO_IMAGES, idx(0x801, [2], [3, 10]));
    await expect(readFashionMnistFiles('t', files)).rejects.toThrow(
      `${files.labels}: label 10 at index 1 is not a class 0..9`,
    );
  });

  it('names a file whose gzip stream is corrupt', async () => {
    const path = join(dir, 'bad.gz');
    const zipped = gzipSync(TWO_IMAGES);
    await writeFile(path, zipped.subarray(0, zipped.length - 6));
    await expect(readMaybeGzipped(path)).rejects.toThrow(new RegExp(`^${path}: corrupt gzip data`));
  });
});
