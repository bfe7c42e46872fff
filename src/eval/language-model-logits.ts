import * as tf from '@tensorflow/tfjs-core';
import type { Dataset } from '../data/dataset.js';
import { describeTextSources } from '../data/text-source.js';
import { MalError } from '../errors.js';
import type { ArchitectureSpec } from '../spec/architecture-spec.js';
import type { FloatTensor } from '../tensor/tensor.js';
import type { LogitsTable } from './calibration.js';
import { disposeParams, paramsFromTensors } from './evaluate.js';
import type { ForwardConfig } from './forward.js';
import { prepareTransformer, transformerLogits } from './forward-transformer.js';

/** Most logits kept whole for baselines (256 MiB of float32): a byte-level model's 2¹⁸ predicted tokens. */
export const KEPT_LOGITS_BUDGET = 64 * 1024 * 1024;

/**
 * Each predicted position's next token, in the order `languageModelLogits` lists the rows: sequence by
 * sequence, position by position (a sequence of n tokens predicts n − 1). These are a language model's labels.
 */
export function nextTokenTargets(dataset: Dataset): Int32Array {
  const size = dataset.exampleShape[0] ?? 0;
  if (dataset.tokens === undefined || dataset.exampleShape.length !== 1 || size < 2) {
    throw new MalError(
      `'${dataset.name}' does not hold token sequences of at least two tokens; ${describeTextSources()}`,
    );
  }
  const length = size - 1;
  const targets = new Int32Array(dataset.count * length);
  for (let s = 0; s < dataset.count; s++) {
    for (let t = 0; t < length; t++) targets[s * length + t] = dataset.features[s * size + t + 1];
  }
  return targets;
}

/**
 * A language model's next-token logits at every predicted position of a data set, kept whole
 * (`[positions, vocab]`, rows as nextTokenTargets lists them), for the baselines: single models and ensembles
 * scored on the same positions. Refused, naming the sizes, when they would not fit KEPT_LOGITS_BUDGET.
 */
export async function languageModelLogits(
  tensors: ReadonlyMap<string, FloatTensor>,
  spec: ArchitectureSpec,
  dataset: Dataset,
  config: ForwardConfig,
  batchSize = 64,
): Promise<LogitsTable> {
  const targets = nextTokenTargets(dataset);
  const length = (dataset.exampleShape[0] ?? 0) - 1;
  const params = paramsFromTensors(tensors);
  try {
    const { settings, structure } = prepareTransformer(params, spec, config);
    const vocab = params.get(`${structure.tokenEmbedding}.weight`)?.shape[0] ?? 0;
    if (targets.length * vocab > KEPT_LOGITS_BUDGET) {
      throw new MalError(
        `baselines: ${targets.length} predicted tokens × a vocabulary of ${vocab} are more logits than the ${KEPT_LOGITS_BUDGET} kept for the ${spec.family} baselines; give the task a smaller limit`,
      );
    }
    const out = new Float32Array(targets.length * vocab);
    for (let start = 0; start < dataset.count; start += batchSize) {
      const count = Math.min(batchSize, dataset.count - start);
      const logits = tf.tidy(() => {
        const inputs = new Int32Array(count * length);
        const size = length + 1;
        for (let s = 0; s < count; s++) {
          for (let t = 0; t < length; t++) inputs[s * length + t] = dataset.features[(start + s) * size + t];
        }
        const tokens = tf.tensor2d(inputs, [count, length], 'int32');
        return transformerLogits(params, spec, tokens, { settings, structure });
      });
      try {
        out.set(await logits.data<'float32'>(), start * length * vocab);
      } finally {
        logits.dispose();
      }
    }
    return { logits: out, classes: vocab };
  } finally {
    disposeParams(params);
  }
}
