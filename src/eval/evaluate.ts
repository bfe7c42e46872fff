/**
 * Loss and accuracy of a model on a labelled data set, in batches, with every batch's tensors freed before the
 * next one so memory stays flat whatever the data set's size.
 */
import * as tf from '@tensorflow/tfjs-core';
import { correctCount, crossEntropyPerExample } from '../compute/cross-entropy.js';
import type { Dataset } from '../data/dataset.js';
import { MalError, SpecError } from '../errors.js';
import type { ArchitectureSpec } from '../spec/architecture-spec.js';
import type { FloatTensor } from '../tensor/tensor.js';
import { type ForwardConfig, forwardLogits, type ParamMap } from './forward.js';
import { resolveForwardSettings } from './forward-settings.js';
import { isTransformerFamily } from './transformer-settings.js';

export interface EvaluateOptions {
  /** Examples per forward pass; default 1000. */
  readonly batchSize?: number;
  /** Model config for the forward pass (strides, pool_kernel, batch_norm_eps, activation). */
  readonly config?: ForwardConfig;
}

export interface Evaluation {
  /** Mean natural-log cross-entropy (per predicted token for a language model). */
  readonly loss: number;
  /** Fraction of examples (a language model: of next tokens) whose largest logit is the label's. */
  readonly accuracy: number;
  /** Examples scored; for a language model, predicted tokens. */
  readonly count: number;
}

/** Uploads a model's tensors to the current tfjs backend. Dispose the result with `disposeParams`. */
export function paramsFromTensors(tensors: ReadonlyMap<string, FloatTensor>): Map<string, tf.Tensor> {
  const params = new Map<string, tf.Tensor>();
  for (const [name, tensor] of tensors)
    params.set(name, tf.tensor(tensor.data, [...tensor.shape], 'float32'));
  return params;
}

export function disposeParams(params: ReadonlyMap<string, tf.Tensor>): void {
  for (const tensor of params.values()) tensor.dispose();
}

export async function evaluateModel(
  params: ParamMap,
  spec: ArchitectureSpec,
  dataset: Dataset,
  options: EvaluateOptions = {},
): Promise<Evaluation> {
  if (isTransformerFamily(spec.family)) {
    throw new SpecError(
      `evaluate: a ${spec.family} model is scored on token sequences by evaluateCausalLm (causal-lm-evaluation.ts), not on labelled examples`,
    );
  }
  const batchSize = options.batchSize ?? 1000;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new MalError(`evaluate: batch size must be a positive integer, got ${batchSize}`);
  }
  if (dataset.count === 0) throw new MalError(`evaluate: data set '${dataset.name}' is empty`);
  const settings = resolveForwardSettings(spec, options.config);
  const exampleShape = modelInputShape(params, spec, dataset);
  const exampleSize = exampleShape.reduce((a, b) => a * b, 1);
  let lossSum = 0;
  let correct = 0;
  let classesChecked = false;
  for (let start = 0; start < dataset.count; start += batchSize) {
    const count = Math.min(batchSize, dataset.count - start);
    const labels = dataset.labels.subarray(start, start + count);
    const [losses, hits] = tf.tidy(() => {
      const input = tf.tensor(
        dataset.features.subarray(start * exampleSize, (start + count) * exampleSize),
        [count, ...exampleShape],
        'float32',
      );
      const { logits } = forwardLogits(params, spec, input, { settings });
      if (!classesChecked) {
        checkLabels(dataset, logits.shape[1]);
        classesChecked = true;
      }
      const labelTensor = tf.tensor1d(labels, 'int32');
      return [tf.sum(crossEntropyPerExample(logits, labelTensor)), correctCount(logits, labelTensor)];
    });
    const [lossData, hitData] = await Promise.all([losses.data(), hits.data()]);
    losses.dispose();
    hits.dispose();
    lossSum += lossData[0];
    correct += hitData[0];
  }
  return { loss: lossSum / dataset.count, accuracy: correct / dataset.count, count: dataset.count };
}

/**
 * The per-example shape the model reads: flat features for an MLP; `[C, H, W]` for image models, taken from
 * the data set when it stores images, else the flat vector folded into a square of the first conv's channels.
 */
export function modelInputShape(params: ParamMap, spec: ArchitectureSpec, dataset: Dataset): number[] {
  const size = dataset.exampleShape.reduce((a, b) => a * b, 1);
  if (dataset.features.length !== size * dataset.count) {
    throw new MalError(
      `evaluate: data set '${dataset.name}' holds ${dataset.features.length} values, not ${dataset.count} × ${size}`,
    );
  }
  if (spec.family === 'mlp') return [size];
  if (dataset.exampleShape.length === 3) return [...dataset.exampleShape];
  const firstConv = spec.layers.find((layer) => layer.kind === 'conv');
  const channels = firstConv === undefined ? undefined : params.get(`${firstConv.name}.weight`)?.shape[1];
  if (channels === undefined) throw new SpecError('evaluate: the image model has no convolution to read');
  const side = Math.round(Math.sqrt(size / channels));
  if (side * side * channels !== size) {
    throw new MalError(
      `evaluate: examples of ${size} values do not fold into ${channels} square channels for '${firstConv?.name}'`,
    );
  }
  return [channels, side, side];
}

export function checkLabels(dataset: Dataset, classes: number): void {
  for (let i = 0; i < dataset.count; i++) {
    const label = dataset.labels[i];
    if (label < 0 || label >= classes) {
      throw new MalError(
        `evaluate: example ${i} of '${dataset.name}' has label ${label} but the model has ${classes} outputs`,
      );
    }
  }
}
