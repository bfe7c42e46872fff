import { describe, expect, it } from 'vitest';
import { ArrowCodecError, zstdCodec } from '../../src/io/arrow-compression.js';

/** An Arrow compressed buffer: its uncompressed length (int64 LE), then the frame; the codec gets the frame. */
function arrowBuffer(declared: number, frame: readonly number[]): Uint8Array {
  const bytes = new Uint8Array(8 + frame.length);
  new DataView(bytes.buffer).setBigInt64(0, BigInt(declared), true);
  bytes.set(frame, 8);
  return bytes.subarray(8);
}

const MAGIC = [0x28, 0xb5, 0x2f, 0xfd];
const EIGHT_BYTES = [1, 2, 3, 4, 5, 6, 7, 8];
/** One last raw block of 8 bytes: header (last = 1, type raw, size 8 << 3). */
const RAW_BLOCK = [0x41, 0x00, 0x00, ...EIGHT_BYTES];

describe('zstdCodec', () => {
  it('decodes a frame whose header claims a 2 GB window without allocating it', () => {
    // Window descriptor 0xA7: 2^30 + 7·2^27 bytes, the most fzstd accepts; the content is 8 bytes.
    const frame = arrowBuffer(8, [...MAGIC, 0x00, 0xa7, ...RAW_BLOCK]);
    const before = process.resourceUsage().maxRSS;
    expect(zstdCodec.decode?.(frame)).toEqual(Uint8Array.from(EIGHT_BYTES));
    // Peak memory (kB): the window would have raised it by 2 GB.
    expect(process.resourceUsage().maxRSS - before).toBeLessThan(256 * 1024);
    // The caller's bytes are left as they were.
    expect(frame[5]).toBe(0xa7);
  });

  it('decodes the same content with a small window as before', () => {
    expect(zstdCodec.decode?.(arrowBuffer(8, [...MAGIC, 0x00, 0x00, ...RAW_BLOCK]))).toEqual(
      Uint8Array.from(EIGHT_BYTES),
    );
    // Single segment with its content size (8) in one byte.
    expect(zstdCodec.decode?.(arrowBuffer(8, [...MAGIC, 0x20, 0x08, ...RAW_BLOCK]))).toEqual(
      Uint8Array.from(EIGHT_BYTES),
    );
  });

  it('refuses a frame whose content size disagrees with the declared length, before decoding', () => {
    // Single segment, 4-byte content size 2^31 − 2^21: fzstd would allocate it as the window.
    const size = 2145386496;
    const bytes = [size & 0xff, (size >> 8) & 0xff, (size >> 16) & 0xff, size >>> 24];
    expect(() => zstdCodec.decode?.(arrowBuffer(8, [...MAGIC, 0xa0, ...bytes, ...RAW_BLOCK]))).toThrow(
      /ZSTD.*2145386496.*8/,
    );
  });

  it('refuses a frame cut inside a block', () => {
    expect(() => zstdCodec.decode?.(arrowBuffer(8, [...MAGIC, 0x00, 0xa7, 0x41, 0x00, 0x00, 1, 2]))).toThrow(
      ArrowCodecError,
    );
  });
});
