/**
 * What every trainer in the project shares: a model's tensors as tfjs variables (trainable) and buffers
 * (BatchNorm running statistics and step counters), one Adam step through the evaluation forward pass in training
 * mode with PyTorch's running-statistics update, mini-batches drawn from a data set, and the tensors read back in
 * their original names, shapes and order.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Dataset } from '../data/dataset.js';
import { type BatchStatistics, type ForwardSettings, forwardLogits } from '../eval/forward.js';
import type { ArchitectureSpec } from '../spec/architecture-spec.js';
import type { FloatTensor } from '../tensor/tensor.js';
import { updateRunningStatistics } from './running-stats.js';

export interface StateTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly values: Float32Array;
  /** Updated by the optimizer; otherwise a buffer (running statistics, step counter). */
  readonly trainable: boolean;
}

const COUNTER_SUFFIX = 'num_batches_tracked';
const BUFFER_SUFFIXES = ['running_mean', 'running_var', COUNTER_SUFFIX] as const;

/** Whether a PyTorch state_dict entry is a BatchNorm buffer rather than a parameter, judged by its name. */
export function isBufferName(name: string): boolean {
  return BUFFER_SUFFIXES.some((suffix) => name === suffix || name.endsWith(`.${suffix}`));
}

/** Adam with PyTorch's defaults (tfjs's epsilon is 1e-7, PyTorch's 1e-8). The caller disposes it. */
export function pytorchAdam(learningRate: number): tf.AdamOptimizer {
  return tf.train.adam(learningRate, 0.9, 0.999, 1e-8);
}

export class TrainingState {
  private readonly variables = new Map<string, tf.Variable>();
  private readonly buffers = new Map<string, tf.Tensor>();
  private readonly entries: readonly StateTensor[];
  private steps = 0;

  constructor(entries: readonly StateTensor[]) {
    this.entries = entries;
    for (const entry of entries) {
      const values = tf.tensor(entry.values, [...entry.shape], 'float32');
      if (entry.trainable) {
        this.variables.set(entry.name, tf.variable(values, true));
        values.dispose();
      } else this.buffers.set(entry.name, values);
    }
  }

  /** Every tensor by name, for a forward pass. */
  params(): Map<string, tf.Tensor> {
    return new Map<string, tf.Tensor>([...this.variables, ...this.buffers]);
  }

  /**
   * One optimizer step on `input`: the forward pass in training mode (BatchNorm normalises with the batch's
   * statistics), the loss `lossOf(logits)` minimised over the trainable tensors, then the running statistics
   * folded in as PyTorch does. `lossOf` runs in a tidy scope: anything else it must return, it tf.keeps. Returns
   * the loss (the caller disposes it).
   */
  step(
    optimizer: tf.Optimizer,
    spec: ArchitectureSpec,
    settings: ForwardSettings,
    input: tf.Tensor,
    lossOf: (logits: tf.Tensor2D) => tf.Scalar,
  ): tf.Scalar {
    let statistics: ReadonlyMap<string, BatchStatistics> = new Map();
    const loss = optimizer.minimize(
      () => {
        const result = forwardLogits(this.params(), spec, input, { training: true, settings });
        // The gradient closure runs in a tidy scope: keep what the step needs after it.
        for (const { mean, variance } of result.batchStatistics.values()) {
          tf.keep(mean);
          tf.keep(variance);
        }
        statistics = result.batchStatistics;
        return lossOf(result.logits);
      },
      true,
      [...this.variables.values()],
    );
    if (loss === null) throw new Error('train: the optimizer step returned no loss');
    updateRunningStatistics(this.buffers, statistics);
    for (const { mean, variance } of statistics.values()) {
      mean.dispose();
      variance.dispose();
    }
    this.steps++;
    return loss;
  }

  /**
   * The tensors now, in the order they were given. Step counters (`num_batches_tracked`) advance by the steps
   * taken, as PyTorch's BatchNorm counts them.
   */
  async read(): Promise<Map<string, FloatTensor>> {
    const tensors = new Map<string, FloatTensor>();
    for (const entry of this.entries) {
      const source = this.variables.get(entry.name) ?? this.buffers.get(entry.name);
      const data = entry.name.endsWith(COUNTER_SUFFIX)
        ? Float32Array.of((entry.values[0] ?? 0) + this.steps)
        : new Float32Array((await source?.data()) ?? new Float32Array(0));
      tensors.set(entry.name, { shape: [...entry.shape], data });
    }
    return tensors;
  }

  dispose(): void {
    for (const variable of this.variables.values()) variable.dispose();
    for (const buffer of this.buffers.values()) buffer.dispose();
  }
}

/**
 * Copies the examples `order[start … start+count)` of a data set into `into` (reused between batches) and
 * returns them as a tensor of `[count, ...exampleShape]`. The caller disposes it.
 */
export function batchInput(
  dataset: Dataset,
  order: ArrayLike<number>,
  start: number,
  count: number,
  inputShape: readonly number[],
  into: Float32Array,
): tf.Tensor {
  const size = inputShape.reduce((a, b) => a * b, 1);
  for (let i = 0; i < count; i++) {
    const example = order[start + i];
    into.set(dataset.features.subarray(example * size, (example + 1) * size), i * size);
  }
  return tf.tensor(into.subarray(0, count * size), [count, ...inputShape]);
}
