/**
 * The 8-bit float formats of the safetensors dtypes, decoded through 256-entry tables built from each format's
 * definition. Every FP8 value is a float32 value (at most 4 significand bits, exponents within float32's range,
 * E8M0's 2^-127 included as a float32 subnormal), so decoding is exact.
 */
import type { DType } from './dtype.js';

export type Fp8DType = Extract<DType, 'F8_E4M3' | 'F8_E5M2' | 'F8_E4M3FNUZ' | 'F8_E5M2FNUZ' | 'F8_E8M0'>;

interface MiniFloat {
  readonly mantissaBits: number;
  readonly bias: number;
  /** What the all-ones exponent means: IEEE's Inf/NaN, NaN only at all-ones mantissa (OCP E4M3), or a normal binade. */
  readonly top: 'ieee' | 'nan-at-max' | 'normal';
  /** FNUZ formats: 0x80 (negative zero's pattern) is the only NaN. */
  readonly nanAtNegativeZero: boolean;
}

const FORMATS: Readonly<Record<Exclude<Fp8DType, 'F8_E8M0'>, MiniFloat>> = {
  // OCP FP8 E4M3 ("E4M3FN"): no infinities, S.1111.111 is NaN, largest 448.
  F8_E4M3: { mantissaBits: 3, bias: 7, top: 'nan-at-max', nanAtNegativeZero: false },
  // OCP FP8 E5M2: IEEE-style, with infinities.
  F8_E5M2: { mantissaBits: 2, bias: 15, top: 'ieee', nanAtNegativeZero: false },
  // Graphcore/AMD FNUZ variants: bias one higher, no infinities, no negative zero, 0x80 is NaN.
  F8_E4M3FNUZ: { mantissaBits: 3, bias: 8, top: 'normal', nanAtNegativeZero: true },
  F8_E5M2FNUZ: { mantissaBits: 2, bias: 16, top: 'normal', nanAtNegativeZero: true },
};

function miniFloatTable(f: MiniFloat): Float32Array {
  const table = new Float32Array(256);
  const exponentBits = 7 - f.mantissaBits;
  const maxExponent = (1 << exponentBits) - 1;
  const maxMantissa = (1 << f.mantissaBits) - 1;
  for (let bits = 0; bits < 256; bits++) {
    const sign = bits & 0x80 ? -1 : 1;
    const exponent = (bits >> f.mantissaBits) & maxExponent;
    const mantissa = bits & maxMantissa;
    let value: number;
    if (f.nanAtNegativeZero && bits === 0x80) value = Number.NaN;
    else if (exponent === maxExponent && f.top === 'ieee')
      value = mantissa === 0 ? Number.POSITIVE_INFINITY : Number.NaN;
    else if (exponent === maxExponent && f.top === 'nan-at-max' && mantissa === maxMantissa)
      value = Number.NaN;
    else if (exponent === 0) value = (mantissa / 2 ** f.mantissaBits) * 2 ** (1 - f.bias);
    else value = (1 + mantissa / 2 ** f.mantissaBits) * 2 ** (exponent - f.bias);
    table[bits] = sign * value;
  }
  return table;
}

/** OCP MX E8M0 scale: 2^(bits − 127), 0xFF is NaN; no sign, no zero. */
function e8m0Table(): Float32Array {
  const table = new Float32Array(256);
  for (let bits = 0; bits < 256; bits++) table[bits] = bits === 0xff ? Number.NaN : 2 ** (bits - 127);
  return table;
}

const tables = new Map<Fp8DType, Float32Array>();

export function isFp8(dtype: DType): dtype is Fp8DType {
  return dtype === 'F8_E8M0' || dtype in FORMATS;
}

/** The float32 value of every FP8 bit pattern of `dtype`. */
export function fp8Table(dtype: Fp8DType): Float32Array {
  let table = tables.get(dtype);
  if (table === undefined) {
    table = dtype === 'F8_E8M0' ? e8m0Table() : miniFloatTable(FORMATS[dtype]);
    tables.set(dtype, table);
  }
  return table;
}

export function decodeFp8(dtype: Fp8DType, src: Uint8Array): Float32Array {
  const table = fp8Table(dtype);
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = table[src[i]];
  return out;
}
