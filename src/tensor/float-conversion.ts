import { DtypeNotConvertibleError } from '../errors.js';
import { byteLength, type DType, elementBytes } from './dtype.js';
import { decodeFp8 } from './fp8.js';
import { decodeBf16, decodeF16, encodeBf16, encodeF16 } from './half-float.js';
import { elementCount, type RawTensor, shapeToString } from './tensor.js';

// Tensor bytes are little-endian and are read through typed-array views, which use the host's byte order.
if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('model-assembly needs a little-endian host: tensor bytes are read through typed arrays');
}

const TWO_32 = 2 ** 32;
const TWO_63 = 2 ** 63;
const TWO_64 = 2 ** 64;

/** Names the tensor a conversion error is about. */
export interface TensorLabel {
  readonly file?: string;
  readonly tensor?: string;
}

/**
 * The tensor's bytes as an ArrayBuffer region aligned for its element size: the original memory when already
 * aligned, otherwise a copy (a typed array cannot start at an unaligned offset).
 */
function alignedRegion(
  bytes: Uint8Array,
  elementBytes: number,
): { buffer: ArrayBufferLike; byteOffset: number } {
  if (bytes.byteOffset % elementBytes === 0) return { buffer: bytes.buffer, byteOffset: bytes.byteOffset };
  return { buffer: bytes.slice().buffer, byteOffset: 0 };
}

/**
 * Elements of a raw tensor as float32. An aligned F32 tensor comes back as a view of its own bytes (no copy):
 * writing to the result writes to the tensor. Integers beyond 2^24 and F64 values round to nearest float32; FP8
 * is exact. C64, F4 and F6 have no exact reading: DtypeNotConvertibleError, naming `label`'s file and tensor.
 */
export function toFloat32(t: RawTensor, label: TensorLabel = {}): Float32Array {
  const n = elementCount(t.shape);
  const size = elementBytes(t.dtype);
  if (size === undefined || t.dtype === 'C64')
    throw new DtypeNotConvertibleError(t.dtype, 'read', label.file, label.tensor);
  const expected = byteLength(t.dtype, n);
  if (t.bytes.length !== expected) {
    throw new RangeError(
      `${t.dtype} tensor of shape ${shapeToString(t.shape)} needs ${expected} bytes, has ${t.bytes.length}`,
    );
  }
  const { buffer, byteOffset } = alignedRegion(t.bytes, size);
  switch (t.dtype) {
    case 'F32':
      return new Float32Array(buffer, byteOffset, n);
    case 'F64':
      return new Float32Array(new Float64Array(buffer, byteOffset, n));
    case 'F16':
      return decodeF16(new Uint16Array(buffer, byteOffset, n));
    case 'BF16':
      return decodeBf16(new Uint16Array(buffer, byteOffset, n));
    case 'I64':
      return int64ToFloat32(
        new Uint32Array(buffer, byteOffset, 2 * n),
        new Int32Array(buffer, byteOffset, 2 * n),
      );
    case 'U64':
      return uint64ToFloat32(new Uint32Array(buffer, byteOffset, 2 * n));
    case 'I32':
      return new Float32Array(new Int32Array(buffer, byteOffset, n));
    case 'U32':
      return new Float32Array(new Uint32Array(buffer, byteOffset, n));
    case 'I16':
      return new Float32Array(new Int16Array(buffer, byteOffset, n));
    case 'U16':
      return new Float32Array(new Uint16Array(buffer, byteOffset, n));
    case 'I8':
      return new Float32Array(new Int8Array(buffer, byteOffset, n));
    case 'U8':
      return new Float32Array(new Uint8Array(buffer, byteOffset, n));
    case 'BOOL': {
      const src = new Uint8Array(buffer, byteOffset, n);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = src[i] === 0 ? 0 : 1;
      return out;
    }
    case 'F8_E4M3':
    case 'F8_E5M2':
    case 'F8_E4M3FNUZ':
    case 'F8_E5M2FNUZ':
    case 'F8_E8M0':
      return decodeFp8(t.dtype, new Uint8Array(buffer, byteOffset, n));
    default:
      throw new DtypeNotConvertibleError(t.dtype, 'read', label.file, label.tensor);
  }
}

/** Little-endian int64 as (low word unsigned, high word signed) pairs; avoids a BigInt per element. */
function int64ToFloat32(low: Uint32Array, high: Int32Array): Float32Array {
  const out = new Float32Array(low.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = high[2 * i + 1] * TWO_32 + low[2 * i];
  return out;
}

function uint64ToFloat32(words: Uint32Array): Float32Array {
  const out = new Float32Array(words.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = words[2 * i + 1] * TWO_32 + words[2 * i];
  return out;
}

/** Round half to even, as numpy's rint; NaN becomes 0 because integers have no NaN. */
function roundHalfEven(x: number): number {
  if (Number.isNaN(x)) return 0;
  const r = Math.round(x);
  // Math.round sends halves up; pull an odd result of an exact half back down to the even neighbour.
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function roundClampInto(
  data: Float32Array,
  out: Int32Array | Int16Array | Int8Array | Uint32Array | Uint16Array | Uint8Array,
  lo: number,
  hi: number,
) {
  for (let i = 0; i < data.length; i++) {
    const r = roundHalfEven(data[i]);
    out[i] = Math.min(Math.max(r, lo), hi);
  }
}

function float32ToInt64Bytes(data: Float32Array): Uint8Array {
  const words = new Uint32Array(2 * data.length);
  for (let i = 0; i < data.length; i++) {
    const r = roundHalfEven(data[i]);
    if (r >= TWO_63) {
      words[2 * i] = 0xffffffff;
      words[2 * i + 1] = 0x7fffffff;
    } else if (r <= -TWO_63) {
      words[2 * i] = 0;
      words[2 * i + 1] = 0x80000000;
    } else {
      // Exact: dividing by a power of two and flooring lose nothing for an integer below 2^63 in magnitude.
      const high = Math.floor(r / TWO_32);
      words[2 * i] = r - high * TWO_32;
      words[2 * i + 1] = high; // stored modulo 2^32, i.e. two's complement
    }
  }
  return new Uint8Array(words.buffer);
}

function float32ToUint64Bytes(data: Float32Array): Uint8Array {
  const words = new Uint32Array(2 * data.length);
  for (let i = 0; i < data.length; i++) {
    const r = Math.max(roundHalfEven(data[i]), 0);
    if (r >= TWO_64) {
      words[2 * i] = 0xffffffff;
      words[2 * i + 1] = 0xffffffff;
    } else {
      const high = Math.floor(r / TWO_32);
      words[2 * i] = r - high * TWO_32;
      words[2 * i + 1] = high;
    }
  }
  return new Uint8Array(words.buffer);
}

function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/**
 * float32 elements as a raw tensor of `dtype`. Floats round to nearest, ties to even; integers round half to
 * even and clamp to the type's range (NaN → 0); BOOL is 1 for any non-zero value (NaN included). F32 returns a
 * view of `data` (no copy): later writes to `data` show in the tensor. FP8, C64, F4 and F6 are not written
 * (DtypeNotConvertibleError): see FLOAT_WRITABLE_DTYPES.
 */
export function fromFloat32(
  data: Float32Array,
  dtype: DType,
  shape: readonly number[],
  label: TensorLabel = {},
): RawTensor {
  const n = elementCount(shape);
  if (data.length !== n) {
    throw new RangeError(`shape ${shapeToString(shape)} holds ${n} elements, data has ${data.length}`);
  }
  const frozenShape = Object.freeze([...shape]);
  const make = (bytes: Uint8Array): RawTensor => ({ dtype, shape: frozenShape, bytes });
  switch (dtype) {
    case 'F32':
      return make(bytesOf(data));
    case 'F64':
      return make(bytesOf(new Float64Array(data)));
    case 'F16':
      return make(bytesOf(encodeF16(data)));
    case 'BF16':
      return make(bytesOf(encodeBf16(data)));
    case 'I64':
      return make(float32ToInt64Bytes(data));
    case 'I32': {
      const out = new Int32Array(n);
      roundClampInto(data, out, -2147483648, 2147483647);
      return make(bytesOf(out));
    }
    case 'I16': {
      const out = new Int16Array(n);
      roundClampInto(data, out, -32768, 32767);
      return make(bytesOf(out));
    }
    case 'I8': {
      const out = new Int8Array(n);
      roundClampInto(data, out, -128, 127);
      return make(bytesOf(out));
    }
    case 'U8': {
      const out = new Uint8Array(n);
      roundClampInto(data, out, 0, 255);
      return make(out);
    }
    case 'U16': {
      const out = new Uint16Array(n);
      roundClampInto(data, out, 0, 65535);
      return make(bytesOf(out));
    }
    case 'U32': {
      const out = new Uint32Array(n);
      roundClampInto(data, out, 0, 4294967295);
      return make(bytesOf(out));
    }
    case 'U64':
      return make(float32ToUint64Bytes(data));
    case 'BOOL': {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = data[i] === 0 ? 0 : 1;
      return make(out);
    }
    default:
      throw new DtypeNotConvertibleError(dtype, 'write', label.file, label.tensor);
  }
}
