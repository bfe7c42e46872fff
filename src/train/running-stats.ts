import * as tf from '@tensorflow/tfjs-core';
import type { BatchStatistics } from '../eval/forward.js';

/** PyTorch's BatchNorm momentum: `running = (1 − m)·running + m·batch`. */
export const BATCH_NORM_MOMENTUM = 0.1;

/**
 * Folds one training batch's statistics into the running ones, as PyTorch's BatchNorm2d does: the mean as is,
 * the variance unbiased (`count/(count−1)`) although the batch was normalized with the biased one.
 * `buffers` maps `prefix.running_mean` / `prefix.running_var` to tensors that are replaced (old ones freed).
 */
export function updateRunningStatistics(
  buffers: Map<string, tf.Tensor>,
  statistics: ReadonlyMap<string, BatchStatistics>,
): void {
  for (const [prefix, { mean, variance, count }] of statistics) {
    const correction = count > 1 ? count / (count - 1) : 1;
    replace(buffers, `${prefix}.running_mean`, (old) =>
      tf.add(tf.mul(old, 1 - BATCH_NORM_MOMENTUM), tf.mul(mean, BATCH_NORM_MOMENTUM)),
    );
    replace(buffers, `${prefix}.running_var`, (old) =>
      tf.add(tf.mul(old, 1 - BATCH_NORM_MOMENTUM), tf.mul(variance, BATCH_NORM_MOMENTUM * correction)),
    );
  }
}

function replace(buffers: Map<string, tf.Tensor>, name: string, next: (old: tf.Tensor) => tf.Tensor): void {
  const old = buffers.get(name);
  if (old === undefined) throw new Error(`running statistics: no buffer '${name}'`);
  buffers.set(
    name,
    tf.tidy(() => next(old)),
  );
  old.dispose();
}
