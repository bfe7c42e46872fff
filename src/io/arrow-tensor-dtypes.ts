import {
  Bool,
  type DataType,
  FixedSizeBinary,
  Float16,
  Float32,
  Float64,
  Int8,
  Int16,
  Int32,
  Int64,
  Uint8,
  Uint16,
  Uint32,
  Uint64,
} from 'apache-arrow';
import type { DType } from '../tensor/dtype.js';

/** Field metadata keys of Arrow extension types (Arrow columnar format, "Extension Types"). */
export const EXTENSION_NAME_KEY = 'ARROW:extension:name';
export const EXTENSION_METADATA_KEY = 'ARROW:extension:metadata';
/** Arrow's canonical extension for a column of tensors of one shape, one tensor a row. */
export const FIXED_SHAPE_TENSOR = 'arrow.fixed_shape_tensor';
/** Arrow's canonical one-byte boolean (int8 storage, 0 false, anything else true), read as BOOL. */
export const BOOL8 = 'arrow.bool8';

/**
 * How one element of a dtype is stored as the value type of an `arrow.fixed_shape_tensor` column: an Arrow type,
 * plus the name of a project extension on the value field where Arrow has no type of its own (its storage is the
 * element's raw bytes). `bytes` is the element's width in the Arrow buffer; 0 for Arrow's bit-packed bool.
 */
export interface ElementType {
  readonly type: () => DataType;
  readonly extension?: string;
  readonly bytes: number;
  /** A typed array over `n` elements' bytes, as makeData takes for `type`. */
  readonly view: (buffer: ArrayBufferLike, byteOffset: number, n: number) => ArrayBufferView;
}

const u8 = (b: ArrayBufferLike, o: number, n: number): Uint8Array => new Uint8Array(b, o, n);
const raw = (extension: string): ElementType => ({ type: () => new Uint8(), extension, bytes: 1, view: u8 });

/**
 * Every dtype with whole-byte elements. F4 and F6 pack elements into shared bytes, which no Arrow value type can
 * hold one a value; they travel in the flat layout (see arrow-tensor.ts).
 */
export const ELEMENT_TYPES: Readonly<Partial<Record<DType, ElementType>>> = {
  F64: { type: () => new Float64(), bytes: 8, view: (b, o, n) => new Float64Array(b, o, n) },
  F32: { type: () => new Float32(), bytes: 4, view: (b, o, n) => new Float32Array(b, o, n) },
  F16: { type: () => new Float16(), bytes: 2, view: (b, o, n) => new Uint16Array(b, o, n) },
  BF16: {
    type: () => new Uint16(),
    extension: 'mal.bfloat16',
    bytes: 2,
    view: (b, o, n) => new Uint16Array(b, o, n),
  },
  I64: { type: () => new Int64(), bytes: 8, view: (b, o, n) => new BigInt64Array(b, o, n) },
  I32: { type: () => new Int32(), bytes: 4, view: (b, o, n) => new Int32Array(b, o, n) },
  I16: { type: () => new Int16(), bytes: 2, view: (b, o, n) => new Int16Array(b, o, n) },
  I8: { type: () => new Int8(), bytes: 1, view: (b, o, n) => new Int8Array(b, o, n) },
  U64: { type: () => new Uint64(), bytes: 8, view: (b, o, n) => new BigUint64Array(b, o, n) },
  U32: { type: () => new Uint32(), bytes: 4, view: (b, o, n) => new Uint32Array(b, o, n) },
  U16: { type: () => new Uint16(), bytes: 2, view: (b, o, n) => new Uint16Array(b, o, n) },
  U8: { type: () => new Uint8(), bytes: 1, view: u8 },
  BOOL: { type: () => new Bool(), bytes: 0, view: u8 },
  F8_E4M3: raw('mal.float8_e4m3fn'),
  F8_E5M2: raw('mal.float8_e5m2'),
  F8_E4M3FNUZ: raw('mal.float8_e4m3fnuz'),
  F8_E5M2FNUZ: raw('mal.float8_e5m2fnuz'),
  F8_E8M0: raw('mal.float8_e8m0fnu'),
  C64: {
    type: () => new FixedSizeBinary(8),
    extension: 'mal.complex64',
    bytes: 8,
    view: (b, o, n) => new Uint8Array(b, o, 8 * n),
  },
};

/** What a value type reads as: the dtype, and whether its bytes are arrow.bool8's (to be made 0 or 1). */
export interface ElementReading {
  readonly dtype: DType;
  readonly element: ElementType;
  readonly bool8: boolean;
}

const key = (type: DataType, extension: string | undefined): string => `${String(type)}|${extension ?? ''}`;

const READINGS = new Map<string, ElementReading>(
  Object.entries(ELEMENT_TYPES).map(([dtype, element]) => [
    key(element.type(), element.extension),
    { dtype: dtype as DType, element, bool8: false },
  ]),
);
READINGS.set(key(new Int8(), BOOL8), {
  dtype: 'BOOL',
  element: { type: () => new Int8(), bytes: 1, view: u8 },
  bool8: true,
});

/** The dtype a fixed_shape_tensor value type (and the extension on its field, if any) holds; undefined if none. */
export function elementReading(type: DataType, extension: string | undefined): ElementReading | undefined {
  return READINGS.get(key(type, extension));
}

/** `Float32`, `Uint16 (mal.bfloat16)`: a value type as messages name it. */
export function describeElement(type: DataType, extension: string | undefined): string {
  return extension === undefined ? String(type) : `${String(type)} (${extension})`;
}
