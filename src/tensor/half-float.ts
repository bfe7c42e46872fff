/**
 * IEEE binary16 (F16) and bfloat16 (BF16) to and from float32.
 *
 * Everything works on bit patterns through Uint32Array views rather than through JavaScript numbers, so NaN
 * payloads survive (reading a NaN into a number may canonicalize it). Typed-array views assume a little-endian
 * host; float-conversion.ts refuses to run on a big-endian one.
 */

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** float32 bit pattern of one F16 bit pattern; exact (every F16 value is a float32 value). */
function f16BitsToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exponent = (h >>> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0x1f) {
    // Inf (mantissa 0) or NaN: payload moves to the top of the float32 mantissa, so quiet stays quiet.
    return (sign | 0x7f800000 | (mantissa << 13)) >>> 0;
  }
  if (exponent !== 0) return (sign | ((exponent + 112) << 23) | (mantissa << 13)) >>> 0;
  if (mantissa === 0) return sign >>> 0;
  // Subnormal F16: normalize, since every F16 subnormal is a normal float32.
  let e = 113;
  let m = mantissa;
  while ((m & 0x400) === 0) {
    m <<= 1;
    e--;
  }
  return (sign | (e << 23) | ((m & 0x3ff) << 13)) >>> 0;
}

/**
 * F16 bit pattern nearest to a float32 bit pattern, ties to even. Overflow gives ±Inf, underflow ±0, NaN stays
 * NaN (quiet bit set, top payload bits kept).
 */
function f32BitsToF16Bits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  const mantissa = x & 0x7fffff;
  if (exponent === 0xff) return mantissa === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mantissa >>> 13);
  const e = exponent - 112; // rebias 127 → 15
  if (e >= 0x1f) return sign | 0x7c00;
  if (e >= 1) {
    const rest = mantissa & 0x1fff;
    let h = sign | (e << 10) | (mantissa >>> 13);
    // A carry out of the mantissa correctly bumps the exponent, and from the largest finite value to Inf.
    if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h++;
    return h;
  }
  // Result is an F16 subnormal (or zero): value / 2^-24, rounded.
  const shift = 14 - e;
  if (shift > 24) return sign; // below half the smallest subnormal, even with the implicit bit
  const full = mantissa | 0x800000;
  const half = 1 << (shift - 1);
  const rest = full & ((1 << shift) - 1);
  let m = full >>> shift;
  if (rest > half || (rest === half && (m & 1) === 1)) m++;
  return sign | m; // m may reach 0x400, which is exactly the smallest normal
}

/** BF16 bit pattern nearest to a float32 bit pattern, ties to even; NaN stays NaN. */
function f32BitsToBf16Bits(x: number): number {
  if ((x & 0x7fffffff) > 0x7f800000) return ((x >>> 16) | 0x40) & 0xffff;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

let f16DecodeTable: Uint32Array | undefined;

/** float32 bit patterns of all 65536 F16 bit patterns (256 KiB), built on first use. */
function f16Table(): Uint32Array {
  if (f16DecodeTable === undefined) {
    const table = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) table[h] = f16BitsToF32Bits(h);
    f16DecodeTable = table;
  }
  return f16DecodeTable;
}

function u32View(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

function checkLength(what: string, expected: number, actual: number): void {
  if (actual !== expected)
    throw new RangeError(`${what}: output holds ${actual} elements, input ${expected}`);
}

export function f16ToFloat32(bits: number): number {
  u32Scratch[0] = f16BitsToF32Bits(bits & 0xffff);
  return f32Scratch[0];
}

export function float32ToF16(value: number): number {
  f32Scratch[0] = value;
  return f32BitsToF16Bits(u32Scratch[0]);
}

export function bf16ToFloat32(bits: number): number {
  u32Scratch[0] = (bits & 0xffff) << 16;
  return f32Scratch[0];
}

/** Rounds a number to float32 first (ties to even), then to BF16 (ties to even), as a float32 tensor would be. */
export function float32ToBf16(value: number): number {
  f32Scratch[0] = value;
  return f32BitsToBf16Bits(u32Scratch[0]);
}

/** F16 words → float32 by table lookup (the fastest decode measured, see docs/COMPUTE.md). */
export function decodeF16(src: Uint16Array, out: Float32Array = new Float32Array(src.length)): Float32Array {
  checkLength('decodeF16', src.length, out.length);
  const table = f16Table();
  const o = u32View(out);
  for (let i = 0; i < src.length; i++) o[i] = table[src[i]];
  return out;
}

export function encodeF16(src: Float32Array, out: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  checkLength('encodeF16', src.length, out.length);
  const s = u32View(src);
  for (let i = 0; i < s.length; i++) out[i] = f32BitsToF16Bits(s[i]);
  return out;
}

/** BF16 words → float32: BF16 is the top half of a float32, so a shift is exact. */
export function decodeBf16(src: Uint16Array, out: Float32Array = new Float32Array(src.length)): Float32Array {
  checkLength('decodeBf16', src.length, out.length);
  const o = u32View(out);
  for (let i = 0; i < src.length; i++) o[i] = src[i] << 16;
  return out;
}

export function encodeBf16(src: Float32Array, out: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  checkLength('encodeBf16', src.length, out.length);
  const s = u32View(src);
  for (let i = 0; i < s.length; i++) out[i] = f32BitsToBf16Bits(s[i]);
  return out;
}
