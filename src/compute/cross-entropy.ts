import * as tf from '@tensorflow/tfjs-core';

/**
 * Natural-log cross-entropy of each example, `−log softmax(logits)[label]`, through tfjs's log-softmax
 * (`x − max − log Σ exp(x − max)`), so large logits neither overflow nor lose the small probabilities.
 * `labels` are int32 class indices in `[0, classes)`; the caller checks the range (oneHot maps others to 0).
 */
export function crossEntropyPerExample(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const logProbabilities = tf.logSoftmax(logits);
    const picked = tf.sum(tf.mul(logProbabilities, tf.oneHot(labels, logits.shape[1])), 1);
    return tf.neg(picked) as tf.Tensor1D;
  });
}

/** Mean cross-entropy over the batch: the training loss. */
export function meanCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => tf.mean(crossEntropyPerExample(logits, labels)) as tf.Scalar);
}

/** How many rows of `logits` put their largest value on the label (ties: the first index, as argmax). */
export function correctCount(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'int32')) as tf.Scalar);
}
