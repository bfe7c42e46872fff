/**
 * Gradients for the kernels the trainer differentiates through. tfjs-core registers its gradient functions only
 * from its ES-module build (`dist/register_all_gradients.js`, extensionless imports Node cannot load); the
 * CommonJS bundle Node runs has none, and `@tensorflow/tfjs`, which bundles them, is not a dependency. These are
 * ports of tfjs-core 4.22's own gradient configs for the kernels used by dense, conv, BatchNorm, max-pool,
 * the activations and the loss. A kernel that already has a gradient (full tfjs loaded) keeps it.
 */
import * as tf from '@tensorflow/tfjs-core';

type NamedAttrMap = Parameters<tf.GradConfig['gradFunc']>[2];

const { assertAndGetBroadcastShape, getReductionAxes } = tf.broadcast_util;

/** Sums a broadcast gradient back to the input's shape. */
function unbroadcast(gradient: tf.Tensor, inputShape: number[], outShape: number[]): tf.Tensor {
  const axes = getReductionAxes(inputShape, outShape);
  return tf.reshape(axes.length > 0 ? tf.sum(gradient, axes) : gradient, inputShape);
}

function single(dy: tf.Tensor | tf.Tensor[]): tf.Tensor {
  if (Array.isArray(dy)) throw new Error('gradient: a single-output kernel received several gradients');
  return dy;
}

function numbers(attrs: NamedAttrMap, key: string): number[] {
  const value = attrs[key];
  return Array.isArray(value) ? (value as number[]) : [value as number];
}

/** The permutation that swaps a batched matrix's last two axes. */
function lastTwoSwapped(rank: number): number[] {
  const perm = [...Array(rank).keys()];
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
  return perm;
}

/** Reduction axes as the kernel saw them: null or absent means all. */
function axesOf(attrs: NamedAttrMap, shape: number[]): number[] {
  const axis = attrs['axis'];
  if (axis === undefined || axis === null) return shape.map((_, index) => index);
  return tf.util.parseAxisParam(axis as number | number[], shape);
}

/** Gradient pad: a number, 'same', 'valid', or explicit pairs, passed through unchanged to the backprop kernel. */
function padOf(attrs: NamedAttrMap): tf.NamedAttrMap[string] {
  return attrs['pad'];
}

/**
 * dL/dW of an NHWC conv2d. The wasm backend has no Conv2DBackpropFilter kernel, so there it is computed as a
 * forward convolution with the roles swapped: input channels become the batch, the batch becomes the channels,
 * and dy (dilated by the stride) is the filter. Sums run over the same products either way.
 */
function filterGradient(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: number[],
  attrs: NamedAttrMap,
): tf.Tensor {
  const strides = numbers(attrs, 'strides');
  const pad = attrs['pad'];
  if (tf.getKernel(tf.Conv2DBackpropFilter, tf.getBackend()) !== undefined) {
    return tf
      .engine()
      .runKernel(
        tf.Conv2DBackpropFilter,
        { x, dy },
        { strides: attrs['strides'], pad, dataFormat: attrs['dataFormat'], filterShape },
      ) as tf.Tensor;
  }
  const padding = pad === 'valid' ? 0 : pad;
  if (typeof padding !== 'number')
    throw new Error(`gradient of conv2d: padding ${String(pad)} is not supported here`);
  const [strideHeight, strideWidth] = strides.length === 1 ? [strides[0], strides[0]] : strides;
  const [kernelHeight, kernelWidth] = filterShape;
  const swapped = tf.conv2d(
    tf.transpose(x, [3, 1, 2, 0]) as tf.Tensor4D,
    tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D,
    1,
    padding,
    'NHWC',
    [strideHeight, strideWidth],
  );
  // With a stride that does not divide the padded input, the swapped conv reaches past the kernel: crop.
  const cropped = tf.slice(swapped, [0, 0, 0, 0], [-1, kernelHeight, kernelWidth, -1]);
  return tf.transpose(cropped, [1, 2, 0, 3]);
}

const CONFIGS: readonly tf.GradConfig[] = [
  {
    kernelName: tf.Add,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => {
      const out = assertAndGetBroadcastShape(a.shape, b.shape);
      return {
        a: () => unbroadcast(single(dy), a.shape, out),
        b: () => unbroadcast(single(dy), b.shape, out),
      };
    },
  },
  {
    kernelName: tf.Sub,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => {
      const out = assertAndGetBroadcastShape(a.shape, b.shape);
      return {
        a: () => unbroadcast(single(dy), a.shape, out),
        b: () => unbroadcast(tf.neg(single(dy)), b.shape, out),
      };
    },
  },
  {
    kernelName: tf.Multiply,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => {
      const out = assertAndGetBroadcastShape(a.shape, b.shape);
      return {
        a: () => unbroadcast(tf.mul(single(dy), tf.cast(b, 'float32')), a.shape, out),
        b: () => unbroadcast(tf.mul(single(dy), tf.cast(a, 'float32')), b.shape, out),
      };
    },
  },
  { kernelName: tf.Neg, gradFunc: (dy) => ({ x: () => tf.neg(single(dy)) }) },
  { kernelName: tf.Cast, gradFunc: (dy) => ({ x: () => single(dy).clone() }) },
  {
    kernelName: tf.Reshape,
    inputsToSave: ['x'],
    gradFunc: (dy, [x]) => ({ x: () => tf.reshape(single(dy), x.shape) }),
  },
  {
    kernelName: tf.Transpose,
    gradFunc: (dy, _saved, attrs) => {
      const undo = tf.backend_util.getUndoAxesPermutation(numbers(attrs, 'perm'));
      return { x: () => tf.transpose(single(dy), undo) };
    },
  },
  {
    // Same products as tfjs's config, but every operand is transposed explicitly first: tfjs wasm runs matMul
    // with transposeA ~75× and transposeB ~15× slower than a plain product (COMPUTE.md).
    kernelName: tf.BatchMatMul,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b], attrs) => {
      const g = single(dy);
      const t = (x: tf.Tensor): tf.Tensor => tf.transpose(x, lastTwoSwapped(x.rank));
      const transposeA = attrs['transposeA'] === true;
      const transposeB = attrs['transposeB'] === true;
      if (!transposeA && !transposeB) return { a: () => tf.matMul(g, t(b)), b: () => tf.matMul(t(a), g) };
      if (!transposeA) return { a: () => tf.matMul(g, b), b: () => tf.matMul(t(g), a) };
      if (!transposeB) return { a: () => tf.matMul(b, t(g)), b: () => tf.matMul(a, g) };
      return { a: () => tf.matMul(t(b), t(g)), b: () => tf.matMul(t(g), t(a)) };
    },
  },
  {
    kernelName: tf.Sum,
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => {
      const axes = axesOf(attrs, x.shape);
      const expanded = x.shape.map((size, axis) => (axes.includes(axis) ? 1 : size));
      return { x: () => tf.mul(tf.reshape(single(dy), expanded), tf.ones(x.shape, 'float32')) };
    },
  },
  {
    kernelName: tf.Mean,
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => {
      const axes = axesOf(attrs, x.shape);
      const expanded = x.shape.map((size, axis) => (axes.includes(axis) ? 1 : size));
      const reduceSize = axes.reduce((product, axis) => product * x.shape[axis], 1);
      return {
        x: () => tf.div(tf.mul(tf.reshape(single(dy), expanded), tf.ones(x.shape, 'float32')), reduceSize),
      };
    },
  },
  {
    kernelName: tf.Square,
    inputsToSave: ['x'],
    gradFunc: (dy, [x]) => ({ x: () => tf.mul(single(dy), tf.mul(tf.cast(x, 'float32'), 2)) }),
  },
  {
    kernelName: tf.Rsqrt,
    inputsToSave: ['x'],
    gradFunc: (dy, [x]) => ({ x: () => tf.neg(tf.div(single(dy), tf.mul(tf.pow(x, 1.5), 2))) }),
  },
  {
    kernelName: tf.Relu,
    inputsToSave: ['x'],
    gradFunc: (dy, [x]) => ({ x: () => tf.mul(single(dy), tf.cast(tf.step(x), 'float32')) }),
  },
  {
    kernelName: tf.Tanh,
    outputsToSave: [true],
    gradFunc: (dy, [y]) => ({ x: () => tf.mul(tf.sub(1, tf.square(y)), single(dy)) }),
  },
  {
    kernelName: tf.Sigmoid,
    outputsToSave: [true],
    gradFunc: (dy, [y]) => ({ x: () => tf.mul(single(dy), tf.mul(y, tf.sub(1, y))) }),
  },
  {
    kernelName: tf.Erf,
    inputsToSave: ['x'],
    gradFunc: (dy, [x]) => ({
      x: () => tf.mul(single(dy), tf.mul(tf.exp(tf.neg(tf.square(x))), 2 / Math.sqrt(Math.PI))),
    }),
  },
  {
    kernelName: tf.Conv2D,
    inputsToSave: ['x', 'filter'],
    gradFunc: (dy, [x, filter], attrs) => {
      const dilations = numbers(attrs, 'dilations');
      if (dilations.some((rate) => rate !== 1)) throw new Error('gradient of conv2d: dilation rates above 1');
      const common = { strides: attrs['strides'], pad: padOf(attrs), dataFormat: attrs['dataFormat'] };
      return {
        x: () =>
          tf
            .engine()
            .runKernel(
              tf.Conv2DBackpropInput,
              { dy: single(dy), filter },
              { ...common, inputShape: x.shape },
            ) as tf.Tensor,
        filter: () => filterGradient(x as tf.Tensor4D, single(dy) as tf.Tensor4D, filter.shape, attrs),
      };
    },
  },
  {
    kernelName: tf.MaxPool,
    inputsToSave: ['x'],
    outputsToSave: [true],
    gradFunc: (dy, [x, y], attrs) => ({
      x: () =>
        tf.engine().runKernel(
          tf.MaxPoolGrad,
          { dy: single(dy), input: x, output: y },
          {
            filterSize: attrs['filterSize'],
            strides: attrs['strides'],
            pad: padOf(attrs),
            dimRoundingMode: attrs['dimRoundingMode'],
          },
        ) as tf.Tensor,
    }),
  },
];

let registered = false;

/** Registers the missing gradients once per process (the registry is global to tfjs-core). */
export function ensureTrainingGradients(): void {
  if (registered) return;
  for (const config of CONFIGS) {
    if (tf.getGradient(config.kernelName) === undefined) tf.registerGradient(config);
  }
  registered = true;
}
