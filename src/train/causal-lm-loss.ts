import * as tf from '@tensorflow/tfjs-core';
import { meanCrossEntropy } from '../compute/cross-entropy.js';

/**
 * The causal language-model training loss: mean natural-log cross-entropy of every position's next token, the
 * quantity causal-lm-evaluation.ts reports (its exponential is the perplexity). `logits` is
 * `[batch, length, vocab]`, `targets` `[batch·length]` int32 (each position's next token, batch-major).
 */
export function causalLmLoss(logits: tf.Tensor3D, targets: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const [batch, length, vocab] = logits.shape;
    return meanCrossEntropy(tf.reshape(logits, [batch * length, vocab]) as tf.Tensor2D, targets);
  });
}
