/**
 * The building blocks of the forward passes. Tensors arrive in PyTorch layouts (dense `[out, in]`, conv
 * `[out, in, kh, kw]`) and activations run in TensorFlow.js's NHWC, so each primitive converts what it reads.
 */
import * as tf from '@tensorflow/tfjs-core';
import { SpecError } from '../errors.js';
import type { ForwardSettings } from './forward-settings.js';

export type ParamMap = ReadonlyMap<string, tf.Tensor>;

/** Per-channel statistics of one BatchNorm over a training batch. */
export interface BatchStatistics {
  readonly mean: tf.Tensor1D;
  /** Biased (divided by `count`), as the normalization used it. */
  readonly variance: tf.Tensor1D;
  /** Values averaged per channel: N·H·W. PyTorch's running variance uses the unbiased `count/(count−1)`. */
  readonly count: number;
}

/**
 * Where a recorded activation was taken: `pre` is a layer's raw output (dense or conv, before any BatchNorm and
 * nonlinearity: what REPAIR corrects), `post` the same units after BatchNorm and the nonlinearity (what
 * activation matching correlates; for a CNN before the max-pool).
 */
export type ActivationStage = 'pre' | 'post';

/**
 * Receives intermediate activations of a forward pass: `[N, units]` for dense layers, NHWC `[N, H, W, C]` for
 * convolutions. Called inside the pass's tidy scope: a recorder that keeps a tensor must `tf.keep` it.
 */
export type ActivationRecorder = (layer: string, stage: ActivationStage, x: tf.Tensor) => void;

/** State shared by the layers of one forward pass. */
export interface ForwardContext {
  readonly params: ParamMap;
  readonly settings: ForwardSettings;
  readonly training: boolean;
  /** Filled in training mode, keyed by the BatchNorm's module name (`features.1`, `layer1.0.bn1`). */
  readonly statistics: Map<string, BatchStatistics>;
  /** Optional observer of the hidden layers' activations (activation statistics); absent in plain passes. */
  readonly record?: ActivationRecorder;
}

export function requireParam(params: ParamMap, name: string, rank?: number): tf.Tensor {
  const tensor = params.get(name);
  if (tensor === undefined) throw new SpecError(`forward pass: the model has no tensor '${name}'`);
  if (rank !== undefined && tensor.rank !== rank) {
    throw new SpecError(
      `forward pass: tensor '${name}' has shape [${tensor.shape.join(', ')}], expected rank ${rank}`,
    );
  }
  return tensor;
}

/** `x·Wᵀ + b` for an nn.Linear weight `[out, in]`. */
export function dense(context: ForwardContext, x: tf.Tensor2D, prefix: string): tf.Tensor2D {
  const weight = requireParam(context.params, `${prefix}.weight`, 2) as tf.Tensor2D;
  if (weight.shape[1] !== x.shape[1]) {
    throw new SpecError(
      `forward pass: '${prefix}.weight' reads ${weight.shape[1]} features but receives ${x.shape[1]}`,
    );
  }
  // An explicit transpose then a plain product: tfjs wasm runs matMul with transposeB ~15× slower (COMPUTE.md).
  const y: tf.Tensor2D = tf.matMul(x, tf.transpose(weight));
  const bias = context.params.get(`${prefix}.bias`);
  return bias === undefined ? y : tf.add(y, bias);
}

/** PyTorch Conv2d (cross-correlation, square stride, symmetric zero padding) on an NHWC activation. */
export function conv2d(
  context: ForwardContext,
  x: tf.Tensor4D,
  prefix: string,
  stride: number,
  padding?: number,
): tf.Tensor4D {
  const weight = requireParam(context.params, `${prefix}.weight`, 4) as tf.Tensor4D;
  const [, inChannels, kernelHeight, kernelWidth] = weight.shape;
  if (inChannels !== x.shape[3]) {
    throw new SpecError(
      `forward pass: '${prefix}.weight' reads ${inChannels} channels but receives ${x.shape[3]}`,
    );
  }
  if (kernelHeight !== kernelWidth || kernelHeight % 2 === 0) {
    throw new SpecError(
      `forward pass: '${prefix}.weight' has a ${kernelHeight}×${kernelWidth} kernel; only square odd kernels ` +
        'with padding (k−1)/2 are supported',
    );
  }
  const filter = tf.transpose(weight, [2, 3, 1, 0]) as tf.Tensor4D;
  let y = tf.conv2d(x, filter, stride, padding ?? (kernelHeight - 1) / 2);
  const bias = context.params.get(`${prefix}.bias`);
  if (bias !== undefined) y = tf.add(y, bias);
  return y;
}

/**
 * BatchNorm2d over the channel (last) axis. Eval mode uses the running statistics; a padded dead channel has
 * running_var 0 and stays finite because eps is added before the square root. Training mode normalizes with
 * the batch's biased statistics and records them for the running-stat update.
 */
export function batchNorm(context: ForwardContext, x: tf.Tensor4D, prefix: string): tf.Tensor4D {
  const gamma = context.params.get(`${prefix}.weight`);
  const beta = context.params.get(`${prefix}.bias`);
  let mean: tf.Tensor;
  let variance: tf.Tensor;
  if (context.training) {
    const moments = tf.moments(x, [0, 1, 2]);
    mean = moments.mean;
    variance = moments.variance;
    const [n, h, w] = x.shape;
    context.statistics.set(prefix, {
      mean: mean as tf.Tensor1D,
      variance: variance as tf.Tensor1D,
      count: n * h * w,
    });
  } else {
    mean = requireParam(context.params, `${prefix}.running_mean`, 1);
    variance = requireParam(context.params, `${prefix}.running_var`, 1);
  }
  if (mean.shape[0] !== x.shape[3]) {
    throw new SpecError(
      `forward pass: BatchNorm '${prefix}' has ${mean.shape[0]} channels but receives ${x.shape[3]}`,
    );
  }
  let scale = tf.rsqrt(tf.add(variance, context.settings.batchNormEps));
  if (gamma !== undefined) scale = tf.mul(scale, gamma);
  let y = tf.mul(tf.sub(x, mean), scale);
  if (beta !== undefined) y = tf.add(y, beta);
  return y as tf.Tensor4D;
}

const SQRT_HALF = Math.SQRT1_2;
const SQRT_TWO_OVER_PI = Math.sqrt(2 / Math.PI);

/** The hidden activation by the names PyTorch and Hugging Face configs use. */
export function activate<T extends tf.Tensor>(x: T, name: string): T {
  switch (name) {
    case 'relu':
      return tf.relu(x);
    case 'gelu':
      // PyTorch's nn.GELU default: the exact erf form.
      return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, SQRT_HALF)), 1));
    case 'gelu_new':
    case 'gelu_tanh':
    case 'gelu_pytorch_tanh': {
      const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), SQRT_TWO_OVER_PI);
      return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
    }
    case 'tanh':
      return tf.tanh(x);
    case 'sigmoid':
      return tf.sigmoid(x);
    case 'silu':
    case 'swish':
      return tf.mul(x, tf.sigmoid(x));
    default:
      throw new SpecError(
        `forward pass: activation '${name}' is not supported (relu, gelu, gelu_new, tanh, sigmoid, silu)`,
      );
  }
}

/** NCHW (PyTorch's input layout) to NHWC. */
export function toNhwc(input: tf.Tensor): tf.Tensor4D {
  if (input.rank !== 4) {
    throw new SpecError(
      `forward pass: an image model needs input [N, C, H, W], got [${input.shape.join(', ')}]`,
    );
  }
  return tf.transpose(input, [0, 2, 3, 1]) as tf.Tensor4D;
}

/** Flattens an NHWC map channel-major (`c·H·W + y·W + x`), the order PyTorch's flatten gives NCHW maps. */
export function flattenChannelMajor(x: tf.Tensor4D): tf.Tensor2D {
  const [n, h, w, c] = x.shape;
  return tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [n, c * h * w]);
}
