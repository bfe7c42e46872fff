import { describe, expect, it } from 'vitest';
import type { DType } from '../../src/tensor/dtype.js';
import { fromFloat32, toFloat32 } from '../../src/tensor/float-conversion.js';
import type { RawTensor } from '../../src/tensor/tensor.js';

function raw(dtype: DType, shape: number[], bytes: number[]): RawTensor {
  return { dtype, shape, bytes: Uint8Array.from(bytes) };
}

// Little-endian bytes written out by hand, with the float32 values they hold.
const HAND_ENCODED: ReadonlyArray<readonly [DType, number[], number[]]> = [
  ['F64', [0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0, 0, 0, 0, 0, 0, 0, 0xc0], [1, -2]],
  ['F32', [0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0], [1, -2]],
  ['F16', [0x00, 0x3c, 0x00, 0xc0], [1, -2]],
  ['BF16', [0x80, 0x3f, 0x00, 0xc0], [1, -2]],
  ['I64', [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 1, 0, 0], [-2, 2 ** 40]],
  ['I32', [0x07, 0, 0, 0, 0xf9, 0xff, 0xff, 0xff], [7, -7]],
  ['I16', [0x00, 0x80, 0xff, 0x7f], [-32768, 32767]],
  ['I8', [0x80, 0x7f], [-128, 127]],
  ['U8', [0x00, 0xff], [0, 255]],
  ['BOOL', [0x00, 0x01], [0, 1]],
];

describe('toFloat32 and fromFloat32 on hand-written bytes', () => {
  it.each(HAND_ENCODED)('%s', (dtype, bytes, values) => {
    expect(Array.from(toFloat32(raw(dtype, [2], bytes)))).toEqual(values);
    const encoded = fromFloat32(Float32Array.from(values), dtype, [2]);
    expect(encoded.dtype).toBe(dtype);
    expect(encoded.shape).toEqual([2]);
    expect(Array.from(encoded.bytes)).toEqual(bytes);
  });
});

describe('toFloat32', () => {
  it('reads I64 values beyond 32 bits and negative ones', () => {
    const words = Uint8Array.from([
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0x80,
    ]);
    expect(Array.from(toFloat32(raw('I64', [2], Array.from(words))))).toEqual([-1, -(2 ** 63)]);
  });

  it('treats any non-zero BOOL byte as true', () => {
    expect(Array.from(toFloat32(raw('BOOL', [3], [0, 2, 255])))).toEqual([0, 1, 1]);
  });

  it('views an aligned F32 tensor without copying', () => {
    const t = fromFloat32(Float32Array.of(1, 2, 3), 'F32', [3]);
    const out = toFloat32(t);
    expect(out.buffer).toBe(t.bytes.buffer);
  });

  it.each([
    ['F32', 4],
    ['F64', 8],
    ['F16', 2],
    ['I64', 8],
    ['I32', 4],
  ] as const)('copies %s bytes that start at an unaligned offset', (dtype, size) => {
    const aligned = fromFloat32(Float32Array.of(3, -5), dtype, [2]);
    const backing = new Uint8Array(1 + 2 * size);
    backing.set(aligned.bytes, 1);
    const unaligned: RawTensor = { dtype, shape: [2], bytes: backing.subarray(1) };
    expect(Array.from(toFloat32(unaligned))).toEqual([3, -5]);
  });

  it('refuses bytes that do not match the shape', () => {
    expect(() => toFloat32(raw('F32', [2], [0, 0, 0, 0]))).toThrow(RangeError);
  });

  it('handles an empty tensor and a scalar', () => {
    expect(toFloat32(raw('F16', [0, 3], [])).length).toBe(0);
    expect(Array.from(toFloat32(raw('F32', [], [0, 0, 0x80, 0x3f])))).toEqual([1]);
  });
});

describe('fromFloat32', () => {
  it('rounds integers half to even', () => {
    const t = fromFloat32(Float32Array.of(0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4, 2.6, -2.6), 'I32', [9]);
    expect(Array.from(new Int32Array(t.bytes.buffer, t.bytes.byteOffset, 9))).toEqual([
      0, 2, 2, 0, -2, -2, 2, 3, -3,
    ]);
  });

  it('clamps integers to the range of the dtype and maps NaN to 0', () => {
    const values = Float32Array.of(300, -300, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY);
    expect(Array.from(fromFloat32(values, 'U8', [5]).bytes)).toEqual([255, 0, 0, 255, 0]);
    expect(Array.from(fromFloat32(values, 'I8', [5]).bytes)).toEqual([0x7f, 0x80, 0, 0x7f, 0x80]);
    const i16 = fromFloat32(Float32Array.of(1e6, -1e6), 'I16', [2]).bytes;
    expect(Array.from(i16)).toEqual([0xff, 0x7f, 0x00, 0x80]);
    const i32 = fromFloat32(Float32Array.of(1e10, -1e10), 'I32', [2]).bytes;
    expect(Array.from(i32)).toEqual([0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0x80]);
    const i64 = fromFloat32(Float32Array.of(1e30, -1e30), 'I64', [2]).bytes;
    expect(Array.from(i64)).toEqual([
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0x80,
    ]);
  });

  it('writes negative I64 values in two’s complement', () => {
    const t = fromFloat32(Float32Array.of(-1, -(2 ** 40)), 'I64', [2]);
    expect(Array.from(t.bytes)).toEqual([
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff,
    ]);
  });

  it('maps BOOL to 1 for any non-zero value, NaN included', () => {
    expect(Array.from(fromFloat32(Float32Array.of(0, -0, 0.25, -3, Number.NaN), 'BOOL', [5]).bytes)).toEqual([
      0, 0, 1, 1, 1,
    ]);
  });

  it('rounds F16 and BF16 to nearest even', () => {
    // 1 + 2^-11 is an F16 tie between 0x3C00 and 0x3C01; 1 + 2^-8 a BF16 tie between 0x3F80 and 0x3F81.
    expect(Array.from(fromFloat32(Float32Array.of(1 + 2 ** -11), 'F16', [1]).bytes)).toEqual([0x00, 0x3c]);
    expect(Array.from(fromFloat32(Float32Array.of(1 + 2 ** -8), 'BF16', [1]).bytes)).toEqual([0x80, 0x3f]);
  });

  it('shares memory with the input for F32', () => {
    const data = Float32Array.of(1, 2);
    expect(fromFloat32(data, 'F32', [2]).bytes.buffer).toBe(data.buffer);
  });

  it('refuses data whose length does not match the shape', () => {
    expect(() => fromFloat32(new Float32Array(5), 'F32', [2, 3])).toThrow(RangeError);
  });

  const ALL: DType[] = ['F64', 'F32', 'F16', 'BF16', 'I64', 'I32', 'I16', 'I8', 'U8', 'BOOL'];
  it.each(ALL)('round-trips values representable in %s', (dtype) => {
    const values =
      dtype === 'BOOL'
        ? [0, 1, 1, 0, 0, 1]
        : dtype === 'U8'
          ? [0, 1, 2, 100, 200, 255]
          : [0, 1, -2, 100, -128, 127];
    const t = fromFloat32(Float32Array.from(values), dtype, [2, 3]);
    expect(t.shape).toEqual([2, 3]);
    expect(Array.from(toFloat32(t))).toEqual(values);
  });
});
