import { describe, expect, it } from 'vitest';
import { bigEndianToLittleEndian } from '../../src/io/arrow-big-endian.js';

describe('big-endian Arrow buffers to little-endian', () => {
  it('reverses each word of each range, in a copy, leaving other bytes alone', () => {
    const bytes = Uint8Array.of(
      0xaa,
      1,
      2,
      3,
      4,
      5,
      6,
      7,
      8,
      0xbb,
      0x10,
      0x20,
      0x30,
      0x40,
      0x50,
      0x60,
      0x70,
      0x80,
    );
    const out = bigEndianToLittleEndian(bytes, [
      { start: 1, length: 8, word: 2 },
      { start: 10, length: 8, word: 8 },
    ]);
    expect(Array.from(out)).toEqual([
      0xaa, 2, 1, 4, 3, 6, 5, 8, 7, 0xbb, 0x80, 0x70, 0x60, 0x50, 0x40, 0x30, 0x20, 0x10,
    ]);
    expect(bytes[1]).toBe(1);
  });

  it('reads a float32 written big-endian as its value', () => {
    const be = new Uint8Array(8);
    new DataView(be.buffer).setFloat32(0, 1.5, false);
    new DataView(be.buffer).setFloat32(4, -2, false);
    const out = bigEndianToLittleEndian(be, [{ start: 0, length: 8, word: 4 }]);
    expect(Array.from(new Float32Array(out.buffer))).toEqual([1.5, -2]);
  });

  it('converts a range listed twice (a footer naming one record batch twice) once', () => {
    const out = bigEndianToLittleEndian(Uint8Array.of(1, 2, 3, 4), [
      { start: 0, length: 4, word: 4 },
      { start: 0, length: 4, word: 4 },
    ]);
    expect(Array.from(out)).toEqual([4, 3, 2, 1]);
  });
});
