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
import { IncompatibleModelsError, MalError } from '../errors.js';
import { resolveForwardSettings } from '../eval/forward-settings.js';
import { SeededRandom } from '../random/seeded-random.js';
import type { ArchitectureSpec } from '../spec/architecture-spec.js';
import { deriveSpec } from '../spec/derive-spec.js';
import type { FloatTensor } from '../tensor/tensor.js';
import { initialValues, isTrainable } from './init-params.js';
import { cnnLayout, type ModelLayout, mlpLayout } from './model-layout.js';
import { batchInput, pytorchAdam, TrainingState } from './training-state.js';

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
  /** Start from these weights instead of the seeded initialization (the seed still fixes the batch order). */
  readonly init?: InitialWeights;
}

export interface InitialWeights {
  /** Exactly the tensors the architecture needs, by PyTorch name. */
  readonly tensors: ReadonlyMap<string, FloatTensor>;
  /** Where they came from (a path), for messages and the config. */
  readonly source: string;
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
  if (options.init !== undefined) checkInitialTensors(layout, options.init);
  const state = new TrainingState(
    layout.params.map((param) => ({
      name: param.name,
      shape: param.shape,
      values: options.init?.tensors.get(param.name)?.data ?? initialValues(param, initRandom),
      trainable: isTrainable(param),
    })),
  );
  const optimizer = pytorchAdam(learningRate);
  const batchesPerEpoch = Math.ceil(dataset.count / batchSize);
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
        for (let i = 0; i < count; i++) batchLabels[i] = dataset.labels[order[start + i]];
        const input = batchInput(dataset, order, start, count, layout.inputShape, batchFeatures);
        const labels = tf.tensor1d(batchLabels.subarray(0, count), 'int32');
        let correct: tf.Scalar | undefined;
        const loss = state.step(optimizer, spec, settings, input, (logits) => {
          correct = tf.keep(correctCount(logits, labels));
          return meanCrossEntropy(logits, labels);
        });
        if (correct === undefined) throw new Error('train: the optimizer step counted no predictions');
        const nextLoss = tf.tidy(() => tf.add(lossSum, tf.mul(loss, count)));
        const nextCorrect = tf.add(correctSum, correct);
        for (const tensor of [lossSum, correctSum, loss, correct, input, labels]) tensor.dispose();
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
    const tensors = await state.read();
    const config = {
      ...layout.config,
      epochs,
      batch_size: batchSize,
      learning_rate: learningRate,
      optimizer: 'adam',
      seed,
      trained_on: dataset.name,
      backend: tf.getBackend(),
      ...(options.init === undefined ? {} : { initialized_from: options.init.source }),
    };
    return { tensors, config };
  } finally {
    optimizer.dispose();
    state.dispose();
  }
}

/**
 * Given initial weights must be exactly the tensors the architecture and widths asked for: every name, every
 * shape, nothing more. Anything else is a wrong --hidden or --dense (or the wrong model), said with both shapes.
 */
function checkInitialTensors(layout: ModelLayout, init: InitialWeights): void {
  const wanted = new Set(layout.params.map((param) => param.name));
  for (const param of layout.params) {
    const given = init.tensors.get(param.name);
    if (given === undefined) {
      throw new IncompatibleModelsError(
        `${init.source}: has no tensor '${param.name}', which the architecture and widths given need with shape [${param.shape.join(', ')}]; give the initial model's own architecture and widths`,
      );
    }
    if (given.shape.length !== param.shape.length || given.shape.some((d, i) => d !== param.shape[i])) {
      throw new IncompatibleModelsError(
        `${init.source}: tensor '${param.name}' has shape [${given.shape.join(', ')}], but the architecture and widths given need [${param.shape.join(', ')}]; give the initial model's own widths`,
      );
    }
  }
  for (const name of init.tensors.keys()) {
    if (!wanted.has(name)) {
      throw new IncompatibleModelsError(
        `${init.source}: tensor '${name}' is not part of the architecture given (${layout.params.length} tensors); give the initial model's own architecture`,
      );
    }
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
