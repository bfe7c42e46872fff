import * as tf from '@tensorflow/tfjs-core';
import type { Dataset } from '../data/dataset.js';
import { MalError } from '../errors.js';
import type { ArchitectureSpec } from '../spec/architecture-spec.js';
import type { FloatTensor } from '../tensor/tensor.js';
import type { LogitsTable } from './calibration.js';
import { checkLabels, disposeParams, modelInputShape, paramsFromTensors } from './evaluate.js';
import { type ForwardConfig, forwardLogits } from './forward.js';
import { resolveForwardSettings } from './forward-settings.js';
import { languageModelLogits } from './language-model-logits.js';
import { isTransformerFamily } from './transformer-settings.js';

/**
 * A model's logits on every example of a data set, kept in memory (N × classes float32): calibration and logit
 * ensembles need them whole. Batches are freed as they go, so only the logits themselves stay.
 */
export async function modelLogits(
  tensors: ReadonlyMap<string, FloatTensor>,
  spec: ArchitectureSpec,
  dataset: Dataset,
  config: ForwardConfig,
  batchSize = 1000,
): Promise<LogitsTable> {
  if (dataset.count === 0) throw new MalError(`evaluate: data set '${dataset.name}' is empty`);
  // A language model's logits are per predicted token: rows as nextTokenTargets lists them.
  if (isTransformerFamily(spec.family)) return languageModelLogits(tensors, spec, dataset, config);
  const params = paramsFromTensors(tensors);
  try {
    const settings = resolveForwardSettings(spec, config);
    const exampleShape = modelInputShape(params, spec, dataset);
    const exampleSize = exampleShape.reduce((a, b) => a * b, 1);
    let out: Float32Array | undefined;
    let classes = 0;
    for (let start = 0; start < dataset.count; start += batchSize) {
      const count = Math.min(batchSize, dataset.count - start);
      const logits = tf.tidy(() => {
        const input = tf.tensor(
          dataset.features.subarray(start * exampleSize, (start + count) * exampleSize),
          [count, ...exampleShape],
          'float32',
        );
        return forwardLogits(params, spec, input, { settings }).logits;
      });
      try {
        if (out === undefined) {
          classes = logits.shape[1];
          checkLabels(dataset, classes);
          out = new Float32Array(dataset.count * classes);
        }
        out.set(await logits.data<'float32'>(), start * classes);
      } finally {
        logits.dispose();
      }
    }
    return { logits: out ?? new Float32Array(0), classes };
  } finally {
    disposeParams(params);
  }
}
