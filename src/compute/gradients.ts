/**
 * Gradients for the kernels the trainer differentiates through. tfjs-core registers its gradient functions only
 * from its ES-module build (`dist/register_all_gradients.js`, extensionless imports Node cannot load); the
 * CommonJS bundle Node runs has none, and `@tensorflow/tfjs`, which bundles them, is not a dependency. These are
 * ports of tfjs-core 4.22's own gradient configs for the kernels used by dense, conv, BatchNorm, max-pool,
 * the activations, the loss, and the GPT-2 and LLaMA passes (embedding gather, slice, split, softmax, the
 * LayerNorm's squared difference). A kernel that already has a gradient (full tfjs loaded) keeps it.
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

/**
 * dL/dtable of `gather(table, indices, axis)`: the rows of dy summed into the rows they were read from. tfjs
 * uses UnsortedSegmentSum, which the wasm backend lacks; there the sum is a product with the indices' one-hot
 * matrix `[rows, n]`, exact in float32 (each entry 0 or 1), and small for the vocabularies trained here.
 */
function gatherGradient(x: tf.Tensor, indices: tf.Tensor, dy: tf.Tensor, axis: number): tf.Tensor {
  const rows = x.shape[axis];
  const flatIndices = tf.reshape(indices, [indices.size]);
  // Move the gathered axis first: dy is outer · indices · inner, with the indices' dims flattened.
  const outer = x.shape.slice(0, axis);
  const inner = x.shape.slice(axis + 1);
  const values = tf.reshape(dy, [...outer, indices.size, ...inner]);
  const toFront = [outer.length, ...outer.map((_, i) => i), ...inner.map((_, i) => outer.length + 1 + i)];
  const front = tf.transpose(values, toFront);
  let summed: tf.Tensor;
  if (tf.getKernel(tf.UnsortedSegmentSum, tf.getBackend()) !== undefined) {
    summed = tf.unsortedSegmentSum(front, tf.cast(flatIndices, 'int32') as tf.Tensor1D, rows);
  } else {
    const columns = front.size / indices.size;
    const oneHotT = tf.transpose(
      tf.cast(tf.oneHot(tf.cast(flatIndices, 'int32') as tf.Tensor1D, rows), 'float32'),
    );
    summed = tf.reshape(
      tf.matMul(oneHotT as tf.Tensor2D, tf.reshape(front, [indices.size, columns]) as tf.Tensor2D),
      [rows, ...outer, ...inner],
    );
  }
  return tf.transpose(summed, tf.backend_util.getUndoAxesPermutation(toFront));
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
  {
    kernelName: tf.SquaredDifference,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => {
      const out = assertAndGetBroadcastShape(a.shape, b.shape);
      return {
        a: () => unbroadcast(tf.mul(single(dy), tf.mul(tf.sub(a, b), 2)), a.shape, out),
        b: () => unbroadcast(tf.mul(single(dy), tf.mul(tf.sub(b, a), 2)), b.shape, out),
      };
    },
  },
  {
    kernelName: tf.Softmax,
    outputsToSave: [true],
    gradFunc: (dy, [y], attrs) => {
      const product = tf.mul(single(dy), y);
      const dim = numbers(attrs, 'dim')[0] ?? -1;
      return { logits: () => tf.sub(product, tf.mul(tf.sum(product, [dim], true), y)) };
    },
  },
  {
    kernelName: tf.GatherV2,
    inputsToSave: ['x', 'indices'],
    gradFunc: (dy, [x, indices], attrs) => {
      if (Number(attrs['batchDims'] ?? 0) !== 0)
        throw new Error('gradient of gather: batchDims is not supported');
      const axis = tf.util.parseAxisParam(attrs['axis'] as number, x.shape)[0] ?? 0;
      return {
        x: () => gatherGradient(x, indices, single(dy), axis),
        indices: () => tf.zerosLike(indices),
      };
    },
  },
  {
    kernelName: tf.Slice,
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => {
      const [begin, size] = tf.slice_util.parseSliceParams(
        x,
        attrs['begin'] as number[],
        attrs['size'] as number[],
      );
      const paddings = x.shape.map((extent, i): [number, number] => [begin[i], extent - begin[i] - size[i]]);
      return { x: () => tf.pad(single(dy), paddings) };
    },
  },
  {
    // Outputs nobody used arrive as zeros (the tape fills them), so the concatenation is whole.
    kernelName: tf.SplitV,
    gradFunc: (dy, _saved, attrs) => {
      const parts = Array.isArray(dy) ? dy : [dy];
      return { x: () => tf.concat(parts, numbers(attrs, 'axis')[0]) };
    },
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
