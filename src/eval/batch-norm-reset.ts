import * as tf from '@tensorflow/tfjs-core';
import type { Dataset } from '../data/dataset.js';
import type { FloatTensor } from '../tensor/tensor.js';
import type { StatisticsModel, StatisticsOptions } from './activation-statistics.js';
import { disposeParams, modelInputShape, paramsFromTensors } from './evaluate.js';
import { forwardLogits } from './forward.js';
import { resolveForwardSettings } from './forward-settings.js';

/**
 * Resets every BatchNorm's running statistics to the statistics of the data's first examples, as measured in
 * training mode (each BatchNorm normalising with its batch's statistics, as PyTorch computes running statistics):
 * the mean over all examples and positions, and the unbiased variance. A merge changes what each BatchNorm
 * sees, so the stored statistics of either endpoint no longer fit (REPAIR's rule for BatchNorm networks).
 * Returns a new tensor map; tensors other than running_mean / running_var are shared with the input.
 */
export function resetBatchNormStatistics(
  model: StatisticsModel,
  data: Dataset,
  options: StatisticsOptions = {},
): Map<string, FloatTensor> {
  const total = Math.min(options.examples ?? data.count, data.count);
  const batchSize = options.batchSize ?? 256;
  const params = paramsFromTensors(model.tensors);
  const settings = resolveForwardSettings(model.spec, model.config);
  const shape = modelInputShape(params, model.spec, data);
  const size = shape.reduce((a, b) => a * b, 1);
  const sums = new Map<string, { count: number; sum: Float64Array; squares: Float64Array }>();
  try {
    for (let start = 0; start < total; start += batchSize) {
      const count = Math.min(batchSize, total - start);
      const input = tf.tensor(
        data.features.subarray(start * size, (start + count) * size),
        [count, ...shape],
        'float32',
      );
      const result = forwardLogits(params, model.spec, input, { settings, training: true });
      input.dispose();
      result.logits.dispose();
      for (const [name, s] of result.batchStatistics) {
        const mean = s.mean.dataSync();
        const variance = s.variance.dataSync();
        s.mean.dispose();
        s.variance.dispose();
        let entry = sums.get(name);
        if (entry === undefined) {
          entry = { count: 0, sum: new Float64Array(mean.length), squares: new Float64Array(mean.length) };
          sums.set(name, entry);
        }
        entry.count += s.count;
        for (let c = 0; c < mean.length; c++) {
          entry.sum[c] += s.count * mean[c];
          entry.squares[c] += s.count * (variance[c] + mean[c] * mean[c]);
        }
      }
    }
  } finally {
    disposeParams(params);
  }
  const out = new Map(model.tensors);
  for (const [name, { count, sum, squares }] of sums) {
    const mean = new Float32Array(sum.length);
    const variance = new Float32Array(sum.length);
    const unbiased = count > 1 ? count / (count - 1) : 1;
    for (let c = 0; c < sum.length; c++) {
      const m = sum[c] / count;
      mean[c] = m;
      variance[c] = Math.max(0, squares[c] / count - m * m) * unbiased;
    }
    out.set(`${name}.running_mean`, { shape: [mean.length], data: mean });
    out.set(`${name}.running_var`, { shape: [variance.length], data: variance });
  }
  return out;
}
