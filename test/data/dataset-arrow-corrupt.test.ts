import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { datasetFromArrowIPC } from '../../src/data/dataset-arrow-reader.js';
import { InvalidFileError } from '../../src/errors.js';

/*
 * Single patched bytes of the shipped validation file that apache-arrow's decoder loops on, allocates for, or reads
 * as zeros. The offsets are those of data/fashion-mnist-val.arrow: one record batch message at offset 8 whose
 * metadata holds the batch length at 0x50 and the field nodes (label, pixels, pixel items) at 0xb8, 0xc8, 0xd8.
 */
const file = join(import.meta.dirname, '..', '..', 'data', 'fashion-mnist-val.arrow');
const original = new Uint8Array(readFileSync(file));

function int64At(bytes: Uint8Array, at: number): bigint {
  return new DataView(bytes.buffer, bytes.byteOffset).getBigInt64(at, true);
}

function patched(edit: (view: DataView, bytes: Uint8Array) => void): Uint8Array {
  const bytes = Uint8Array.from(original);
  edit(new DataView(bytes.buffer), bytes);
  return bytes;
}

function failure(bytes: Uint8Array): Error {
  try {
    datasetFromArrowIPC(bytes, 'val.arrow');
  } catch (error) {
    return error as Error;
  }
  throw new Error('the patched file was accepted');
}

describe('a corrupt Arrow data file is refused before it is decoded', () => {
  it('the offsets below are those of the shipped file', () => {
    expect([0x50, 0xb8, 0xc8].map((at) => int64At(original, at))).toEqual([2000n, 2000n, 2000n]);
    expect(int64At(original, 0xd8)).toBe(2000n * 784n);
    expect(datasetFromArrowIPC(original, 'val.arrow').count).toBe(2000);
  });

  it('a changed continuation marker (apache-arrow loops forever on it)', () => {
    const error = failure(patched((_, bytes) => bytes.fill(0, 8, 9)));
    expect(error).toBeInstanceOf(InvalidFileError);
    expect(error.message).toMatch(/^val\.arrow: corrupt Arrow IPC data: record batch 0: /);
  });

  it('a patched row count (a RangeError once allocated)', () => {
    const error = failure(patched((view) => view.setBigInt64(0x50, 2000n + 2n ** 40n, true)));
    expect(error).toBeInstanceOf(InvalidFileError);
    expect(error.message).toMatch(/record batch 0 claims 1099511629776 rows/);
  });

  it('a file claiming more rows than it holds (read as zeros)', () => {
    const bytes = patched((view) => {
      for (const at of [0x50, 0xb8, 0xc8]) view.setBigInt64(at, 2001n, true);
      view.setBigInt64(0xd8, 2001n * 784n, true);
    });
    const error = failure(bytes);
    expect(error).toBeInstanceOf(InvalidFileError);
    expect(error.message).toMatch(
      /column 'label' claims 2001 values but its values buffer holds 2000 bytes of the 2001 they need/,
    );
  });

  it('a truncated file', () => {
    const error = failure(original.subarray(0, original.length - 100));
    expect(error.message).toMatch(/closing ARROW1 magic \(truncated file\?\)/);
  });
});
