/**
 * Trains small decoder-only transformers (GPT-2, LLaMA) from scratch on token sequences, through the same forward
 * pass evaluation uses, with the causal LM loss. The result has Hugging Face names, layouts and config, so it is
 * saved, aligned, merged and evaluated like a downloaded checkpoint. A seed fixes the initial weights and the
 * batch order, so on a given backend the same options give the same bytes.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ensureTrainingGradients } from '../compute/gradients.js';
import type { Dataset } from '../data/dataset.js';
import { describeTextSources } from '../data/text-source.js';
import { MalError } from '../errors.js';
import { transformerLogits } from '../eval/forward-transformer.js';
import { SeededRandom } from '../random/seeded-random.js';
import { deriveSpec } from '../spec/derive-spec.js';
import { causalLmLoss } from './causal-lm-loss.js';
import type { EpochReport, TrainedModel } from './train-model.js';
import { pytorchAdam, TrainingState } from './training-state.js';
import { type TransformerShape, transformerInitialValues, transformerLayout } from './transformer-layout.js';

export interface TransformerTrainOptions {
  /** Everything but the vocabulary, which the data set's tokenizer gives. */
  readonly shape: Omit<TransformerShape, 'vocab'>;
  /** Token sequences of `context + 1` tokens (loadTextDataset). */
  readonly dataset: Dataset;
  readonly epochs: number;
  /** Sequences per step; default 16. */
  readonly batchSize?: number;
  /** Adam's step size; default 3e-3. */
  readonly learningRate?: number;
  readonly seed: number;
  /** `loss` is the mean training cross-entropy per token, `accuracy` the next-token accuracy. */
  readonly onEpoch?: (report: EpochReport) => void;
  readonly onBatch?: (done: number, total: number) => void;
}

export const DEFAULT_TRANSFORMER_BATCH = 16;
export const DEFAULT_TRANSFORMER_LEARNING_RATE = 3e-3;

export async function trainTransformer(options: TransformerTrainOptions): Promise<TrainedModel> {
  const { dataset, epochs, seed } = options;
  const batchSize = options.batchSize ?? DEFAULT_TRANSFORMER_BATCH;
  const learningRate = options.learningRate ?? DEFAULT_TRANSFORMER_LEARNING_RATE;
  const tokens = dataset.tokens;
  if (tokens === undefined) {
    throw new MalError(
      `train: '${dataset.name}' holds labelled examples; a ${options.shape.architecture} model trains on text (${describeTextSources()})`,
    );
  }
  if (dataset.count === 0) throw new MalError(`train: data set '${dataset.name}' is empty`);
  const size = dataset.exampleShape[0] ?? 0;
  const length = size - 1;
  if (length !== options.shape.context) {
    throw new MalError(
      `train: '${dataset.name}' holds sequences of ${size} tokens, not --context ${options.shape.context} plus one`,
    );
  }
  if (!Number.isInteger(epochs) || epochs < 1)
    throw new MalError(`train: epochs must be a positive integer, got ${epochs}`);
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new MalError(`train: batch size must be a positive integer, got ${batchSize}`);
  if (!(learningRate > 0)) throw new MalError(`train: learning rate must be positive, got ${learningRate}`);

  const layout = transformerLayout({ ...options.shape, vocab: tokens.vocabulary });
  ensureTrainingGradients();
  const spec = deriveSpec(
    layout.params.map((param) => ({ name: param.name, dtype: 'F32' as const, shape: param.shape })),
    { config: layout.config },
  );
  // Separate streams: changing the epochs or batch size must not change the initial weights.
  const initRandom = new SeededRandom(seed);
  const orderRandom = new SeededRandom((seed ^ 0x5bd1e995) >>> 0);
  const state = new TrainingState(
    layout.params.map((param) => ({
      name: param.name,
      shape: param.shape,
      values: transformerInitialValues(param, initRandom),
      trainable: true,
    })),
  );
  const optimizer = pytorchAdam(learningRate);
  const batchesPerEpoch = Math.ceil(dataset.count / batchSize);
  const inputs = new Int32Array(batchSize * length);
  const targets = new Int32Array(batchSize * length);
  const variables = [...state.params().values()] as tf.Variable[];
  try {
    for (let epoch = 1; epoch <= epochs; epoch++) {
      const started = performance.now();
      const order = orderRandom.permutation(dataset.count);
      let lossSum: tf.Tensor = tf.scalar(0);
      let correctSum: tf.Tensor = tf.scalar(0, 'int32');
      for (let batch = 0; batch < batchesPerEpoch; batch++) {
        const start = batch * batchSize;
        const count = Math.min(batchSize, dataset.count - start);
        for (let s = 0; s < count; s++) {
          const row = order[start + s] * size;
          for (let t = 0; t < length; t++) {
            inputs[s * length + t] = dataset.features[row + t];
            targets[s * length + t] = dataset.features[row + t + 1];
          }
        }
        const input = tf.tensor2d(inputs.subarray(0, count * length), [count, length], 'int32');
        const labels = tf.tensor1d(targets.subarray(0, count * length), 'int32');
        let correct: tf.Scalar | undefined;
        const loss = optimizer.minimize(
          () => {
            const logits = transformerLogits(state.params(), spec, input, { config: layout.config });
            correct = tf.keep(
              tf.sum(
                tf.cast(tf.equal(tf.argMax(tf.reshape(logits, [count * length, -1]), 1), labels), 'int32'),
              ),
            );
            return causalLmLoss(logits, labels);
          },
          true,
          variables,
        );
        if (loss === null || correct === undefined)
          throw new Error('train: the optimizer step returned no loss');
        const nextLoss = tf.tidy(() => tf.add(lossSum, tf.mul(loss, count)));
        const nextCorrect = tf.add(correctSum, correct);
        tf.dispose([lossSum, correctSum, loss, correct, input, labels]);
        lossSum = nextLoss;
        correctSum = nextCorrect;
        options.onBatch?.((epoch - 1) * batchesPerEpoch + batch + 1, epochs * batchesPerEpoch);
      }
      const [lossTotal, correctTotal] = await Promise.all([lossSum.data(), correctSum.data()]);
      tf.dispose([lossSum, correctSum]);
      options.onEpoch?.({
        epoch,
        epochs,
        loss: (lossTotal[0] ?? Number.NaN) / dataset.count,
        accuracy: (correctTotal[0] ?? 0) / (dataset.count * length),
        seconds: (performance.now() - started) / 1000,
      });
    }
    return {
      tensors: await state.read(),
      config: {
        ...layout.config,
        epochs,
        batch_size: batchSize,
        learning_rate: learningRate,
        optimizer: 'adam',
        seed,
        trained_on: dataset.name,
        tokenizer: tokens.tokenizer,
        backend: tf.getBackend(),
      },
    };
  } finally {
    optimizer.dispose();
    state.dispose();
  }
}
