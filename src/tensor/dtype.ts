/**
 * Every safetensors dtype, in the order of the reference implementation's `Dtype` enum (huggingface/safetensors,
 * safetensors/src/tensor.rs). The order matters: the reference writer sorts tensors by it, descending, so the
 * widest alignment comes first (see safetensors-writer.ts).
 */
export const DTYPES = [
  'BOOL',
  'F4',
  'F6_E2M3',
  'F6_E3M2',
  'U8',
  'I8',
  'F8_E5M2',
  'F8_E4M3',
  'F8_E8M0',
  'F8_E4M3FNUZ',
  'F8_E5M2FNUZ',
  'I16',
  'U16',
  'F16',
  'BF16',
  'I32',
  'U32',
  'F32',
  'C64',
  'F64',
  'I64',
  'U64',
] as const;
export type DType = (typeof DTYPES)[number];

/** Bits of one element, as the reference's `Dtype::bitsize`. F4 and F6 pack several elements into a byte. */
export const DTYPE_BITS: Readonly<Record<DType, number>> = {
  BOOL: 8,
  F4: 4,
  F6_E2M3: 6,
  F6_E3M2: 6,
  U8: 8,
  I8: 8,
  F8_E5M2: 8,
  F8_E4M3: 8,
  F8_E8M0: 8,
  F8_E4M3FNUZ: 8,
  F8_E5M2FNUZ: 8,
  I16: 16,
  U16: 16,
  F16: 16,
  BF16: 16,
  I32: 32,
  U32: 32,
  F32: 32,
  C64: 64,
  F64: 64,
  I64: 64,
  U64: 64,
};

/**
 * dtypes whose elements the maths cannot read as real numbers: complex values have no float32, and the format
 * does not say how F4 and F6 elements are packed into bytes (nor their block scales), so no conversion is exact.
 * Such tensors are carried as opaque bytes: copied from the base in a merge, listed by inspect.
 */
export const OPAQUE_DTYPES: ReadonlySet<DType> = new Set<DType>(['C64', 'F4', 'F6_E2M3', 'F6_E3M2']);

/**
 * dtypes the merge can write float32 results back into. FP8 is read exactly but never written: its values go
 * with scale tensors of their own, which re-encoding merged values would silently contradict, so FP8 tensors are
 * copied from the base like opaque ones.
 */
export const FLOAT_WRITABLE_DTYPES: ReadonlySet<DType> = new Set<DType>([
  'F64',
  'F32',
  'F16',
  'BF16',
  'I64',
  'I32',
  'I16',
  'I8',
  'U64',
  'U32',
  'U16',
  'U8',
  'BOOL',
]);

export function isDType(value: unknown): value is DType {
  return typeof value === 'string' && (DTYPES as readonly string[]).includes(value);
}

export function isFloatDType(dtype: DType): boolean {
  return dtype === 'F64' || dtype === 'F32' || dtype === 'F16' || dtype === 'BF16';
}

/** Whether the maths may read the tensor as float32 and the merge write its result back in the same dtype. */
export function isMergeableDType(dtype: DType): boolean {
  return !OPAQUE_DTYPES.has(dtype) && FLOAT_WRITABLE_DTYPES.has(dtype);
}

/** Bytes of one element for the dtypes that have whole-byte elements; undefined for F4 and F6. */
export function elementBytes(dtype: DType): number | undefined {
  const bits = DTYPE_BITS[dtype];
  return bits % 8 === 0 ? bits / 8 : undefined;
}

/**
 * Bytes that `elements` elements of `dtype` take, or undefined when they do not fill whole bytes (an odd number
 * of F4 elements, say), which the reference refuses (MisalignedSlice).
 */
export function byteLength(dtype: DType, elements: number): number | undefined {
  const bits = elements * DTYPE_BITS[dtype];
  return bits % 8 === 0 ? bits / 8 : undefined;
}
