import { assertInInterval, assertSameLength } from './merge-validation.js';

export interface SlerpOptions {
  /** Names the tensor in error messages. */
  readonly tensorName: string;
}

/** mergekit's threshold: above it the two directions are treated as collinear and interpolated linearly. */
const COLLINEAR_DOT_THRESHOLD = 0.9995;
/** mergekit's guard: a tensor with a smaller norm is left unnormalised (its dot with anything is then ~0). */
const NORM_EPSILON = 1e-8;

/**
 * Spherical linear interpolation of one tensor, as mergekit's `slerp`: the angle comes from normalised copies, the
 * coefficients sin((1−t)Ω)/sin Ω and sin(tΩ)/sin Ω are applied to the un-normalised tensors, so their norms are
 * interpolated along with the direction. Nearly collinear (|cos Ω| > 0.9995) tensors fall back to (1−t)·a + t·b,
 * where sin Ω ≈ 0 would make the coefficients unstable. Dots and norms in float64.
 */
export function slerp(
  from: Float32Array,
  to: Float32Array,
  t: number,
  { tensorName }: SlerpOptions,
): Float32Array {
  assertInInterval(tensorName, 't', t, 0, 1, { lowClosed: true, highClosed: true });
  const length = assertSameLength(tensorName, [from, to], ['from', 'to']);

  let dot = 0;
  let fromSquared = 0;
  let toSquared = 0;
  for (let j = 0; j < length; j++) {
    dot += from[j] * to[j];
    fromSquared += from[j] * from[j];
    toSquared += to[j] * to[j];
  }
  const fromNorm = Math.sqrt(fromSquared);
  const toNorm = Math.sqrt(toSquared);
  const cosine = dot / ((fromNorm > NORM_EPSILON ? fromNorm : 1) * (toNorm > NORM_EPSILON ? toNorm : 1));

  let fromCoefficient: number;
  let toCoefficient: number;
  if (Math.abs(cosine) > COLLINEAR_DOT_THRESHOLD) {
    fromCoefficient = 1 - t;
    toCoefficient = t;
  } else {
    const omega = Math.acos(cosine);
    const sinOmega = Math.sin(omega);
    fromCoefficient = Math.sin(omega - omega * t) / sinOmega;
    toCoefficient = Math.sin(omega * t) / sinOmega;
  }

  const out = new Float32Array(length);
  for (let j = 0; j < length; j++) out[j] = fromCoefficient * from[j] + toCoefficient * to[j];
  return out;
}
