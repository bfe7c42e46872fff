import { describe, expect, it } from 'vitest';
import {
  bf16ToFloat32,
  decodeBf16,
  decodeF16,
  encodeBf16,
  encodeF16,
  f16ToFloat32,
  float32ToBf16,
  float32ToF16,
} from '../../src/tensor/half-float.js';

/** A float32 value from its bit pattern, built with a DataView so the test does not rely on the code under test. */
function f32FromBits(bits: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, bits);
  return view.getFloat32(0);
}

function isF16NaN(h: number): boolean {
  return (h & 0x7c00) === 0x7c00 && (h & 0x03ff) !== 0;
}

function isBf16NaN(h: number): boolean {
  return (h & 0x7f80) === 0x7f80 && (h & 0x007f) !== 0;
}

// [float32 input, expected F16 bits], computed by hand from the IEEE 754 binary16 layout.
const F16_ENCODE_CASES: ReadonlyArray<readonly [string, number, number]> = [
  ['one', 1, 0x3c00],
  ['minus two', -2, 0xc000],
  ['zero', 0, 0x0000],
  ['negative zero', -0, 0x8000],
  ['largest finite', 65504, 0x7bff],
  ['just below the overflow tie', 65519, 0x7bff],
  ['overflow tie rounds to even (Inf)', 65520, 0x7c00],
  ['overflow', 1e6, 0x7c00],
  ['negative overflow', -1e6, 0xfc00],
  ['0.1', 0.1, 0x2e66],
  ['1/3', 1 / 3, 0x3555],
  ['tie 1+2^-11 goes down to even', 1 + 2 ** -11, 0x3c00],
  ['tie 1+3*2^-11 goes up to even', 1 + 3 * 2 ** -11, 0x3c02],
  ['just above a tie goes up', f32FromBits(0x3f801001), 0x3c01],
  ['just below a tie goes down', f32FromBits(0x3f800fff), 0x3c00],
  ['smallest subnormal', 2 ** -24, 0x0001],
  ['half the smallest subnormal ties to zero', 2 ** -25, 0x0000],
  ['negative half-subnormal tie keeps the sign', -(2 ** -25), 0x8000],
  ['above half the smallest subnormal', 1.25 * 2 ** -25, 0x0001],
  ['subnormal tie 1.5*2^-24 goes to 2', 1.5 * 2 ** -24, 0x0002],
  ['subnormal tie 2.5*2^-24 goes to 2', 2.5 * 2 ** -24, 0x0002],
  ['largest subnormal', 1023 * 2 ** -24, 0x03ff],
  ['largest subnormal tie carries into smallest normal', 1023.5 * 2 ** -24, 0x0400],
  ['smallest normal', 2 ** -14, 0x0400],
  ['far underflow', 1e-10, 0x0000],
  ['float32 subnormal underflows', f32FromBits(0x00000001), 0x0000],
  ['Inf', Number.POSITIVE_INFINITY, 0x7c00],
  ['-Inf', Number.NEGATIVE_INFINITY, 0xfc00],
];

const F16_DECODE_CASES: ReadonlyArray<readonly [number, number]> = [
  [0x3c00, 1],
  [0xc000, -2],
  [0x7bff, 65504],
  [0x3555, 0.333251953125],
  [0x2e66, 0.0999755859375],
  [0x0001, 2 ** -24],
  [0x03ff, 1023 * 2 ** -24],
  [0x0400, 2 ** -14],
  [0x8001, -(2 ** -24)],
  [0x7c00, Number.POSITIVE_INFINITY],
  [0xfc00, Number.NEGATIVE_INFINITY],
];

describe('F16', () => {
  it.each(F16_ENCODE_CASES)('encodes %s', (_label, value, bits) => {
    expect(float32ToF16(value)).toBe(bits);
    expect(encodeF16(Float32Array.of(value))[0]).toBe(bits);
  });

  it('encodes NaN as a NaN pattern, keeping the sign', () => {
    expect(isF16NaN(float32ToF16(Number.NaN))).toBe(true);
    expect(isF16NaN(float32ToF16(f32FromBits(0x7f800001)))).toBe(true); // low-payload signalling NaN
    expect(float32ToF16(f32FromBits(0xffc00000)) & 0x8000).toBe(0x8000);
  });

  it.each(F16_DECODE_CASES)('decodes 0x%s', (bits, value) => {
    expect(f16ToFloat32(bits)).toBe(value);
    expect(decodeF16(Uint16Array.of(bits))[0]).toBe(value);
  });

  it('decodes zeros with their sign and NaN as NaN', () => {
    expect(Object.is(f16ToFloat32(0x0000), 0)).toBe(true);
    expect(Object.is(f16ToFloat32(0x8000), -0)).toBe(true);
    expect(f16ToFloat32(0x7e00)).toBeNaN();
    expect(f16ToFloat32(0x7c01)).toBeNaN();
    expect(f16ToFloat32(0xfe00)).toBeNaN();
  });

  it('keeps the NaN payload bits when decoding', () => {
    const out = decodeF16(Uint16Array.of(0x7c01, 0xfe00));
    const bits = new Uint32Array(out.buffer);
    expect(bits[0]).toBe(0x7f802000);
    expect(bits[1]).toBe(0xffc00000);
  });

  it('re-encodes every non-NaN F16 pattern to itself', () => {
    const all = new Uint16Array(65536);
    for (let h = 0; h < all.length; h++) all[h] = h;
    const back = encodeF16(decodeF16(all));
    for (let h = 0; h < all.length; h++) {
      if (isF16NaN(h)) expect(isF16NaN(back[h])).toBe(true);
      else if (back[h] !== h) expect.fail(`0x${h.toString(16)} came back as 0x${back[h].toString(16)}`);
    }
  });

  it('refuses an output of the wrong length', () => {
    expect(() => decodeF16(new Uint16Array(3), new Float32Array(2))).toThrow(RangeError);
    expect(() => encodeF16(new Float32Array(3), new Uint16Array(4))).toThrow(RangeError);
  });
});

// [float32 bit pattern in, expected BF16 bits].
const BF16_ENCODE_CASES: ReadonlyArray<readonly [string, number, number]> = [
  ['one', 0x3f800000, 0x3f80],
  ['minus two', 0xc0000000, 0xc000],
  ['negative zero', 0x80000000, 0x8000],
  ['tie 1+2^-8 goes down to even', 0x3f808000, 0x3f80],
  ['tie 1+3*2^-8 goes up to even', 0x3f818000, 0x3f82],
  ['just above a tie goes up', 0x3f808001, 0x3f81],
  ['just below a tie goes down', 0x3f807fff, 0x3f80],
  ['float32 max rounds to Inf', 0x7f7fffff, 0x7f80],
  ['below the overflow tie stays finite', 0x7f7f7fff, 0x7f7f],
  ['subnormal tie goes down to even', 0x00008000, 0x0000],
  ['subnormal tie goes up to even', 0x00018000, 0x0002],
  ['Inf', 0x7f800000, 0x7f80],
  ['-Inf', 0xff800000, 0xff80],
];

describe('BF16', () => {
  it.each(BF16_ENCODE_CASES)('encodes %s', (_label, f32Bits, bits) => {
    expect(float32ToBf16(f32FromBits(f32Bits))).toBe(bits);
    const src = new Float32Array(new Uint32Array([f32Bits]).buffer);
    expect(encodeBf16(src)[0]).toBe(bits);
  });

  it('encodes NaN as NaN, also a NaN whose payload lives only in the low bits', () => {
    expect(isBf16NaN(float32ToBf16(Number.NaN))).toBe(true);
    const src = new Float32Array(new Uint32Array([0x7f800001, 0xff800001]).buffer);
    const out = encodeBf16(src);
    expect(isBf16NaN(out[0])).toBe(true);
    expect(isBf16NaN(out[1])).toBe(true);
    expect(out[1] & 0x8000).toBe(0x8000);
  });

  it('decodes by shifting into the top half of a float32', () => {
    expect(bf16ToFloat32(0x3f80)).toBe(1);
    expect(bf16ToFloat32(0x4049)).toBe(3.140625);
    expect(bf16ToFloat32(0xc000)).toBe(-2);
    expect(bf16ToFloat32(0x0001)).toBe(9.183549615799121e-41);
    expect(bf16ToFloat32(0x7f80)).toBe(Number.POSITIVE_INFINITY);
    expect(bf16ToFloat32(0x7fc0)).toBeNaN();
    expect(Object.is(bf16ToFloat32(0x8000), -0)).toBe(true);
    const out = decodeBf16(Uint16Array.of(0x3f80, 0xff81));
    expect(new Uint32Array(out.buffer)[1]).toBe(0xff810000);
  });
});
