/**
 * Causal language-model scoring: every position of a token sequence predicts the next token. The loss is the
 * mean natural-log cross-entropy per predicted token, perplexity its exponential, accuracy the share of
 * positions whose largest logit is the next token.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Dataset } from '../data/dataset.js';
import { describeTextSources } from '../data/text-source.js';
import { MalError, SpecError } from '../errors.js';
import type { ArchitectureSpec } from '../spec/architecture-spec.js';
import type { Evaluation } from './evaluate.js';
import { type ParamMap, requireParam } from './forward-layers.js';
import type { ForwardConfig } from './forward-settings.js';
import { prepareTransformer, transformerLogits } from './forward-transformer.js';

export interface CausalLmOptions {
  /** Most sequences per forward pass; fewer when their logits would pass LOGIT_BUDGET. Default 1000. */
  readonly batchSize?: number;
  readonly config?: ForwardConfig;
  /** Called after each batch with the sequences scored so far and the total. */
  readonly onBatch?: (done: number, total: number) => void;
}

/** Most logits one pass holds (64 Mi floats, 256 MiB): a GPT-2 vocabulary fills it with about 1300 tokens. */
export const LOGIT_BUDGET = 64 * 1024 * 1024;

export function perplexity(loss: number): number {
  return Math.exp(loss);
}

/** Loss, next-token accuracy and the number of predicted tokens (`count`) of a transformer on token sequences. */
export async function evaluateCausalLm(
  params: ParamMap,
  spec: ArchitectureSpec,
  dataset: Dataset,
  options: CausalLmOptions = {},
): Promise<Evaluation> {
  if (dataset.tokens === undefined) {
    throw new MalError(
      `evaluate: '${dataset.name}' holds labelled examples, but this ${spec.family} model reads token sequences; ${describeTextSources()}`,
    );
  }
  if (dataset.count === 0) throw new MalError(`evaluate: data set '${dataset.name}' is empty`);
  const { settings, structure } = prepareTransformer(params, spec, options.config);
  const embedding = `${structure.tokenEmbedding}.weight`;
  const vocab = requireParam(params, embedding, 2).shape[0];
  if (dataset.tokens.vocabulary > vocab) {
    throw new SpecError(
      `evaluate: '${dataset.name}' is tokenized with ${dataset.tokens.tokenizer} (vocabulary ${dataset.tokens.vocabulary}) but '${embedding}' has only ${vocab} rows; use the model's own tokenizer.json (put it beside the model) or a model with at least ${dataset.tokens.vocabulary} tokens`,
    );
  }
  const size = dataset.exampleShape[0] ?? 0;
  const length = size - 1;
  if (dataset.exampleShape.length !== 1 || length < 1 || dataset.features.length !== size * dataset.count) {
    throw new MalError(`evaluate: '${dataset.name}' does not hold sequences of at least two tokens`);
  }
  const requested = options.batchSize ?? 1000;
  if (!Number.isInteger(requested) || requested < 1) {
    throw new MalError(`evaluate: batch size must be a positive integer, got ${requested}`);
  }
  const batchSize = Math.min(requested, Math.max(1, Math.floor(LOGIT_BUDGET / (length * vocab))));
  let lossSum = 0;
  let correct = 0;
  for (let start = 0; start < dataset.count; start += batchSize) {
    const count = Math.min(batchSize, dataset.count - start);
    const inputs = new Int32Array(count * length);
    const targets = new Int32Array(count * length);
    // Where each position's target sits in the flattened logits: gathering it avoids a vocabulary-wide one-hot.
    const picks = new Int32Array(count * length);
    for (let s = 0; s < count; s++) {
      const row = (start + s) * size;
      for (let t = 0; t < length; t++) {
        inputs[s * length + t] = dataset.features[row + t];
        targets[s * length + t] = dataset.features[row + t + 1];
        picks[s * length + t] = (s * length + t) * vocab + targets[s * length + t];
      }
    }
    const [losses, hits] = tf.tidy(() => {
      const tokens = tf.tensor2d(inputs, [count, length], 'int32');
      const logits = tf.reshape(transformerLogits(params, spec, tokens, { settings, structure }), [
        count * length,
        vocab,
      ]) as tf.Tensor2D;
      const labels = tf.tensor1d(targets, 'int32');
      const picked = tf.gather(tf.reshape(tf.logSoftmax(logits), [-1]), tf.tensor1d(picks, 'int32'));
      const hit = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'int32'));
      return [tf.neg(tf.sum(picked)), hit];
    });
    const [lossData, hitData] = await Promise.all([losses.data(), hits.data()]);
    losses.dispose();
    hits.dispose();
    lossSum += lossData[0] ?? Number.NaN;
    correct += hitData[0] ?? 0;
    options.onBatch?.(start + count, dataset.count);
  }
  const tokens = dataset.count * length;
  return { loss: lossSum / tokens, accuracy: correct / tokens, count: tokens };
}
