/**
 * The pieces GPT-2 and LLaMA share: embeddings, the two dense layouts, the two norms, RoPE and causal
 * grouped-query attention. Activations are `[tokens, width]` matrices (batch and position flattened,
 * batch-major), so every projection is one plain 2-D product.
 */
import * as tf from '@tensorflow/tfjs-core';
import { SpecError } from '../errors.js';
import { activate, type ParamMap, requireParam } from './forward-layers.js';

/** Rows `tokens` of an embedding table `[rows, width]`: `[tokens.length, width]`. */
export function embed(params: ParamMap, name: string, tokens: tf.Tensor1D): tf.Tensor2D {
  return tf.gather(requireParam(params, name, 2), tokens) as tf.Tensor2D;
}

/** `x·Wᵀ + b` for an nn.Linear weight `[out, in]` (LLaMA). */
export function linear(params: ParamMap, x: tf.Tensor2D, prefix: string): tf.Tensor2D {
  const weight = requireParam(params, `${prefix}.weight`, 2) as tf.Tensor2D;
  checkReads(prefix, weight.shape[1], x.shape[1]);
  // An explicit transpose then a plain product: tfjs wasm runs matMul with transposeB several times slower.
  const y = tf.matMul(x, tf.transpose(weight)) as tf.Tensor2D;
  const bias = params.get(`${prefix}.bias`);
  return bias === undefined ? y : (tf.add(y, bias) as tf.Tensor2D);
}

/** `x·W + b` for GPT-2's Conv1D weight `[in, out]`. */
export function conv1d(params: ParamMap, x: tf.Tensor2D, prefix: string): tf.Tensor2D {
  const weight = requireParam(params, `${prefix}.weight`, 2) as tf.Tensor2D;
  checkReads(prefix, weight.shape[0], x.shape[1]);
  const y = tf.matMul(x, weight) as tf.Tensor2D;
  const bias = params.get(`${prefix}.bias`);
  return bias === undefined ? y : (tf.add(y, bias) as tf.Tensor2D);
}

function checkReads(prefix: string, reads: number, receives: number): void {
  if (reads !== receives) {
    throw new SpecError(`forward pass: '${prefix}.weight' reads ${reads} features but receives ${receives}`);
  }
}

/** PyTorch LayerNorm over the last axis (biased variance); weight and bias each optional, as GPT-2's template allows. */
export function layerNorm(params: ParamMap, x: tf.Tensor2D, prefix: string, eps: number): tf.Tensor2D {
  const { mean, variance } = tf.moments(x, 1, true);
  let y = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
  const weight = params.get(`${prefix}.weight`);
  const bias = params.get(`${prefix}.bias`);
  if (weight === undefined && bias === undefined) requireParam(params, `${prefix}.weight`);
  if (weight !== undefined) y = tf.mul(y, weight);
  if (bias !== undefined) y = tf.add(y, bias);
  return y as tf.Tensor2D;
}

/** LLaMA's RMSNorm: `x / sqrt(mean(x²) + eps) · weight`. */
export function rmsNorm(params: ParamMap, x: tf.Tensor2D, prefix: string, eps: number): tf.Tensor2D {
  const weight = requireParam(params, `${prefix}.weight`, 1);
  const meanSquare = tf.mean(tf.square(x), 1, true);
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(meanSquare, eps))), weight) as tf.Tensor2D;
}

/** Batch size and sequence length of one pass. */
export interface SequenceShape {
  readonly batch: number;
  readonly length: number;
}

/** The number of heads a projection of `width` holds; an error naming the tensor when it is not whole. */
export function headsIn(width: number, headDim: number, tensor: string): number {
  const heads = width / headDim;
  if (!Number.isInteger(heads) || heads < 1) {
    throw new SpecError(
      `forward pass: '${tensor}' is ${width} wide, not a whole number of heads of ${headDim} (head_dim)`,
    );
  }
  return heads;
}

/** RoPE's tables for one sequence length: cos and sin `[length, headDim]`, and the rotate-half matrix. */
export interface RopeTables {
  readonly cos: tf.Tensor2D;
  readonly sin: tf.Tensor2D;
  readonly rotate: tf.Tensor2D;
}

/**
 * RoPE's cos and sin tables, computed in float64 and rounded once, in Hugging Face's rotate-half layout: entry i
 * and entry i + headDim/2 turn by `position · frequencies[i]` (ropeInverseFrequencies).
 */
export function ropeTables(length: number, frequencies: Float64Array): RopeTables {
  const half = frequencies.length;
  const headDim = 2 * half;
  const cos = new Float32Array(length * headDim);
  const sin = new Float32Array(length * headDim);
  for (let position = 0; position < length; position++) {
    for (let i = 0; i < half; i++) {
      const angle = position * frequencies[i];
      const row = position * headDim;
      cos[row + i] = cos[row + i + half] = Math.cos(angle);
      sin[row + i] = sin[row + i + half] = Math.sin(angle);
    }
  }
  return {
    cos: tf.tensor2d(cos, [length, headDim]),
    sin: tf.tensor2d(sin, [length, headDim]),
    rotate: rotateHalfMatrix(headDim),
  };
}

/**
 * `[headDim, headDim]` with `x·R = rotate_half(x) = [−x₂, x₁]`: one ±1 per column, so the product is exact and
 * replaces two slices, a negation and a concatenation (slow on the wasm backend) by one small matrix product.
 */
export function rotateHalfMatrix(headDim: number): tf.Tensor2D {
  const half = headDim / 2;
  const matrix = new Float32Array(headDim * headDim);
  for (let i = 0; i < half; i++) {
    matrix[(i + half) * headDim + i] = -1;
    matrix[i * headDim + i + half] = 1;
  }
  return tf.tensor2d(matrix, [headDim, headDim]);
}

/** Rotates each head of `x` (`[batch·length, heads·headDim]`) by its position: `x·cos + rotate_half(x)·sin`. */
export function applyRope(
  x: tf.Tensor2D,
  shape: SequenceShape,
  headDim: number,
  tables: RopeTables,
): tf.Tensor2D {
  const heads = x.shape[1] / headDim;
  const split = tf.reshape(x, [shape.batch, shape.length, heads, headDim]);
  const rotated = tf.reshape(
    tf.matMul(tf.reshape(x, [-1, headDim]) as tf.Tensor2D, tables.rotate),
    split.shape,
  );
  const cos = tf.reshape(tables.cos, [1, shape.length, 1, headDim]);
  const sin = tf.reshape(tables.sin, [1, shape.length, 1, headDim]);
  const out = tf.add(tf.mul(split, cos), tf.mul(rotated, sin));
  return tf.reshape(out, x.shape) as tf.Tensor2D;
}

const SQRT_TWO_OVER_PI = Math.sqrt(2 / Math.PI);

/**
 * The MLP activation. GELU's tanh form (GPT-2's gelu_new) is computed as `x·σ(2z)`, equal to
 * `½x(1 + tanh z)`, with `x³` as products: tanh and pow are several times slower than sigmoid and mul on the
 * wasm backend. Other names go to the shared `activate`.
 */
export function transformerActivation(x: tf.Tensor2D, name: string): tf.Tensor2D {
  if (name === 'gelu_new' || name === 'gelu_tanh' || name === 'gelu_pytorch_tanh') {
    const cube = tf.mul(tf.mul(x, x), x);
    const z = tf.mul(tf.add(x, tf.mul(cube, 0.044715)), 2 * SQRT_TWO_OVER_PI);
    return tf.mul(x, tf.sigmoid(z)) as tf.Tensor2D;
  }
  return activate(x, name);
}

/**
 * `[group·length, length]`: 0 where query row r (position r mod length) may see key s (s ≤ position, and with a
 * sliding window s > position − window, Hugging Face's Mistral mask), a large negative number elsewhere, added to
 * the scores before the softmax. Every row sees itself, so no row is empty.
 */
export function causalMask(length: number, group: number, window = Number.POSITIVE_INFINITY): tf.Tensor2D {
  const mask = new Float32Array(group * length * length);
  for (let r = 0; r < group * length; r++) {
    const position = r % length;
    for (let s = 0; s <= position - window; s++) mask[r * length + s] = MASKED;
    for (let s = position + 1; s < length; s++) mask[r * length + s] = MASKED;
  }
  return tf.tensor2d(mask, [group * length, length]);
}

/** Large enough that exp underflows to 0 after the softmax's max subtraction, finite so no backend makes NaN. */
const MASKED = -1e9;

/**
 * Causal scaled-dot-product attention with grouped queries. `q` is `[batch·length, heads·headDim]`, `k` and `v`
 * `[batch·length, kvHeads·headDim]`; query head h reads key/value head `floor(h / (heads/kvHeads))` (Hugging
 * Face's repeat_kv). The queries of one group are stacked along time, so each key/value head is multiplied once
 * and never copied. Returns `[batch·length, heads·headDim]`, heads contiguous.
 */
export function causalAttention(
  q: tf.Tensor2D,
  k: tf.Tensor2D,
  v: tf.Tensor2D,
  shape: SequenceShape,
  headDim: number,
  names: { readonly query: string; readonly key: string },
  mask: (group: number) => tf.Tensor2D,
  /** What the scores are multiplied by before the softmax. */
  scale = 1 / Math.sqrt(headDim),
): tf.Tensor2D {
  const { batch, length } = shape;
  const heads = headsIn(q.shape[1], headDim, names.query);
  const kvHeads = headsIn(k.shape[1], headDim, names.key);
  if (heads % kvHeads !== 0) {
    throw new SpecError(
      `forward pass: '${names.query}' has ${heads} heads, not a multiple of the ${kvHeads} key/value heads of '${names.key}'`,
    );
  }
  const group = heads / kvHeads;
  // Heads are kv-major (h = kv·group + j), so `[batch, heads, length, headDim]` is already the queries of each
  // key/value head stacked group by group: rank-4 transposes only.
  const queries = tf.reshape(tf.transpose(tf.reshape(q, [batch, length, heads, headDim]), [0, 2, 1, 3]), [
    batch * kvHeads,
    group * length,
    headDim,
  ]);
  const byHead = (x: tf.Tensor2D): tf.Tensor3D =>
    tf.reshape(tf.transpose(tf.reshape(x, [batch, length, kvHeads, headDim]), [0, 2, 1, 3]), [
      batch * kvHeads,
      length,
      headDim,
    ]);
  const keysT = tf.transpose(byHead(k), [0, 2, 1]);
  // Scaling the queries rather than the scores: `headDim` values per row instead of `length`.
  const scores = tf.add(tf.matMul(tf.mul(queries, scale), keysT), mask(group));
  const attended = tf.matMul(tf.softmax(scores), byHead(v));
  return tf.reshape(tf.transpose(tf.reshape(attended, [batch, heads, length, headDim]), [0, 2, 1, 3]), [
    batch * length,
    heads * headDim,
  ]);
}
