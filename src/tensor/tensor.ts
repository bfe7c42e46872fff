import type { DType } from './dtype.js';

/**
 * A tensor as stored in a file: dtype, shape and its raw little-endian bytes. F16 and BF16 have no JavaScript
 * typed array, so the raw bytes are the common currency; `toFloat32`/`fromFloat32` convert for maths.
 */
export interface RawTensor {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly bytes: Uint8Array;
}

/** A tensor in the working precision of the maths: float32, row-major (C order). */
export interface FloatTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides of a shape, in elements. */
export function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let k = shape.length - 1; k >= 0; k--) {
    strides[k] = s;
    s *= shape[k];
  }
  return strides;
}

export function shapeToString(shape: readonly (number | string)[]): string {
  return `[${shape.join(', ')}]`;
}
