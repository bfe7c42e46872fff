/**
 * Trains small MLPs and VGG-style CNNs from scratch with TensorFlow.js, to build model zoos for the assembly
 * experiments. The result has PyTorch names and layouts, so it is saved, aligned, merged and evaluated like any
 * downloaded checkpoint. A seed fixes the initial weights and the batch order, so on a given backend the same
 * options give the same bytes.
 */
import * as tf from '@tensorflow/tfjs-core';
import { correctCount, meanCrossEntropy } from '../compute/cross-entropy.js';
import { ensureTrainingGradients } from '../compute/gradients.js';
import type { Dataset } from '../data/dataset.js';
import { MalError } from '../errors.js';
import { type BatchStatistics, forwardLogits } from '../eval/forward.js';
import { resolveForwardSettings } from '../eval/forward-settings.js';
import { SeededRandom } from '../random/seeded-random.js';
import type { ArchitectureSpec } from '../spec/architecture-spec.js';
import { deriveSpec } from '../spec/derive-spec.js';
import type { FloatTensor } from '../tensor/tensor.js';
import { initialValues, isTrainable } from './init-params.js';
import { cnnLayout, type ModelLayout, mlpLayout } from './model-layout.js';
import { updateRunningStatistics } from './running-stats.js';

export interface EpochReport {
  /** 1-based. */
  readonly epoch: number;
  readonly epochs: number;
  /** Mean training cross-entropy over the epoch's batches (weighted by batch size), in training mode. */
  readonly loss: number;
  /** Training accuracy over the epoch, from the same forward passes. */
  readonly accuracy: number;
  readonly seconds: number;
}

export interface TrainOptions {
  readonly architecture: 'mlp' | 'cnn';
  /** MLP: hidden widths. CNN: output channels of each conv block. */
  readonly hidden: readonly number[];
  /** CNN only: hidden widths of the dense head; default none. */
  readonly dense?: readonly number[];
  /** The training split. */
  readonly dataset: Dataset;
  readonly epochs: number;
  /** Default 128. The last batch of an epoch may be smaller (PyTorch's drop_last=False). */
  readonly batchSize?: number;
  /** Adam's step size; default 1e-3. */
  readonly learningRate?: number;
  readonly seed: number;
  readonly onEpoch?: (report: EpochReport) => void;
  /** Batches done and in total, over the whole run. */
  readonly onBatch?: (done: number, total: number) => void;
}

export interface TrainedModel {
  /** PyTorch state_dict names and layouts, in state_dict order. */
  readonly tensors: Map<string, FloatTensor>;
  /** What the forward pass and people need: architecture, widths, activation, image size, training settings. */
  readonly config: Record<string, string | number>;
}

/** Derived the same way as any loaded checkpoint, so training runs the exact forward pass evaluation uses. */
function specOfLayout(layout: ModelLayout): ArchitectureSpec {
  const infos = layout.params.map((param) => ({
    name: param.name,
    dtype: 'F32' as const,
    shape: param.shape,
  }));
  return deriveSpec(infos, { config: layout.config });
}

export async function trainModel(options: TrainOptions): Promise<TrainedModel> {
  const { dataset, epochs, seed } = options;
  const batchSize = options.batchSize ?? 128;
  const learningRate = options.learningRate ?? 1e-3;
  checkOptions(options, batchSize, learningRate);
  const layout = layoutFor(options);
  ensureTrainingGradients();
  const spec = specOfLayout(layout);
  const settings = resolveForwardSettings(spec, layout.config);
  const exampleSize = layout.inputShape.reduce((a, b) => a * b, 1);

  // Separate streams: changing the epochs or batch size must not change the initial weights.
  const initRandom = new SeededRandom(seed);
  const orderRandom = new SeededRandom((seed ^ 0x5bd1e995) >>> 0);
  const variables = new Map<string, tf.Variable>();
  const buffers = new Map<string, tf.Tensor>();
  for (const param of layout.params) {
    const values = tf.tensor(initialValues(param, initRandom), [...param.shape], 'float32');
    if (isTrainable(param)) {
      variables.set(param.name, tf.variable(values, true));
      values.dispose();
    } else buffers.set(param.name, values);
  }
  const trainable = [...variables.values()];
  // PyTorch's Adam epsilon (tfjs's default is 1e-7).
  const optimizer = tf.train.adam(learningRate, 0.9, 0.999, 1e-8);
  const batchesPerEpoch = Math.ceil(dataset.count / batchSize);
  let batchesTracked = 0;
  const batchFeatures = new Float32Array(batchSize * exampleSize);
  const batchLabels = new Int32Array(batchSize);

  try {
    for (let epoch = 1; epoch <= epochs; epoch++) {
      const started = performance.now();
      const order = orderRandom.permutation(dataset.count);
      let lossSum: tf.Tensor = tf.scalar(0);
      let correctSum: tf.Tensor = tf.scalar(0, 'int32');
      for (let batch = 0; batch < batchesPerEpoch; batch++) {
        const start = batch * batchSize;
        const count = Math.min(batchSize, dataset.count - start);
        for (let i = 0; i < count; i++) {
          const example = order[start + i];
          batchFeatures.set(
            dataset.features.subarray(example * exampleSize, (example + 1) * exampleSize),
            i * exampleSize,
          );
          batchLabels[i] = dataset.labels[example];
        }
        const input = tf.tensor(batchFeatures.subarray(0, count * exampleSize), [
          count,
          ...layout.inputShape,
        ]);
        const labels = tf.tensor1d(batchLabels.subarray(0, count), 'int32');
        let statistics: ReadonlyMap<string, BatchStatistics> = new Map();
        let correct: tf.Scalar | undefined;
        const loss = optimizer.minimize(
          () => {
            const params = new Map<string, tf.Tensor>([...variables, ...buffers]);
            const result = forwardLogits(params, spec, input, { training: true, settings });
            // The gradient closure runs in a tidy scope: keep what the step needs after it.
            for (const { mean, variance } of result.batchStatistics.values()) {
              tf.keep(mean);
              tf.keep(variance);
            }
            statistics = result.batchStatistics;
            correct = tf.keep(correctCount(result.logits, labels));
            return meanCrossEntropy(result.logits, labels);
          },
          true,
          trainable,
        );
        if (loss === null || correct === undefined)
          throw new Error('train: the optimizer step returned no loss');
        updateRunningStatistics(buffers, statistics);
        batchesTracked++;
        const nextLoss = tf.tidy(() => tf.add(lossSum, tf.mul(loss, count)));
        const nextCorrect = tf.add(correctSum, correct);
        for (const tensor of [lossSum, correctSum, loss, correct, input, labels]) tensor.dispose();
        for (const { mean, variance } of statistics.values()) {
          mean.dispose();
          variance.dispose();
        }
        lossSum = nextLoss;
        correctSum = nextCorrect;
        options.onBatch?.((epoch - 1) * batchesPerEpoch + batch + 1, epochs * batchesPerEpoch);
      }
      const [lossTotal, correctTotal] = await Promise.all([lossSum.data(), correctSum.data()]);
      lossSum.dispose();
      correctSum.dispose();
      options.onEpoch?.({
        epoch,
        epochs,
        loss: lossTotal[0] / dataset.count,
        accuracy: correctTotal[0] / dataset.count,
        seconds: (performance.now() - started) / 1000,
      });
    }
    const tensors = new Map<string, FloatTensor>();
    for (const param of layout.params) {
      const source = variables.get(param.name) ?? buffers.get(param.name);
      const data =
        param.role === 'batches-tracked'
          ? Float32Array.of(batchesTracked)
          : new Float32Array((await source?.data()) ?? new Float32Array(0));
      tensors.set(param.name, { shape: [...param.shape], data });
    }
    const config = {
      ...layout.config,
      epochs,
      batch_size: batchSize,
      learning_rate: learningRate,
      optimizer: 'adam',
      seed,
      trained_on: dataset.name,
      backend: tf.getBackend(),
    };
    return { tensors, config };
  } finally {
    optimizer.dispose();
    for (const variable of variables.values()) variable.dispose();
    for (const buffer of buffers.values()) buffer.dispose();
  }
}

function checkOptions(options: TrainOptions, batchSize: number, learningRate: number): void {
  const { dataset, epochs } = options;
  if (dataset.count === 0) throw new MalError(`train: data set '${dataset.name}' is empty`);
  if (!Number.isInteger(epochs) || epochs < 1)
    throw new MalError(`train: epochs must be a positive integer, got ${epochs}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new MalError(`train: batch size must be a positive integer, got ${batchSize}`);
  }
  if (!(learningRate > 0)) throw new MalError(`train: learning rate must be positive, got ${learningRate}`);
  for (let i = 0; i < dataset.count; i++) {
    const label = dataset.labels[i];
    if (!(label >= 0 && label < dataset.classes)) {
      throw new MalError(
        `train: example ${i} of '${dataset.name}' has label ${label}, outside [0, ${dataset.classes})`,
      );
    }
  }
}

function layoutFor(options: TrainOptions): ModelLayout {
  const { dataset } = options;
  const size = dataset.exampleShape.reduce((a, b) => a * b, 1);
  if (dataset.features.length !== size * dataset.count) {
    throw new MalError(
      `train: data set '${dataset.name}' holds ${dataset.features.length} values, not ${dataset.count} × ${size}`,
    );
  }
  if (options.architecture === 'mlp') return mlpLayout(size, options.hidden, dataset.classes);
  let image: [number, number, number];
  if (dataset.exampleShape.length === 3) {
    const [c, h, w] = dataset.exampleShape;
    image = [c, h, w];
  } else {
    // Flat examples are single-channel square images (MNIST-style 784 = 28×28).
    const side = Math.round(Math.sqrt(size));
    if (side * side !== size) {
      throw new MalError(
        `train: a CNN needs images; examples of ${size} values are not a square single-channel image`,
      );
    }
    image = [1, side, side];
  }
  return cnnLayout(image, options.hidden, options.dense ?? [], dataset.classes);
}
