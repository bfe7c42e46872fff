/**
 * Knowledge distillation for the fusion "heal" step: a student model is trained for a bounded number of Adam
 * steps to match a teacher's softened predictions on unlabelled examples (Hinton et al. 2015). The teacher is
 * anything that produced logits for those examples (an ensemble, say), computed by the caller; no labels are read.
 *
 * The loss per example is KL(softmax(t/T) ‖ softmax(s/T))·T², t the teacher's logits and s the student's: the
 * soft-target cross-entropy less the teacher's entropy (a constant), so it has the same gradients and is 0 when
 * the student matches. T² keeps gradient sizes comparable across temperatures.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ensureTrainingGradients } from '../compute/gradients.js';
import type { Dataset } from '../data/dataset.js';
import { MalError } from '../errors.js';
import { modelInputShape } from '../eval/evaluate.js';
import type { ForwardConfig } from '../eval/forward.js';
import { resolveForwardSettings } from '../eval/forward-settings.js';
import { SeededRandom } from '../random/seeded-random.js';
import type { ArchitectureSpec } from '../spec/architecture-spec.js';
import type { FloatTensor } from '../tensor/tensor.js';
import { batchInput, isBufferName, pytorchAdam, TrainingState } from './training-state.js';

export interface DistillOptions {
  /** The student's starting weights (PyTorch names and layouts); not modified. */
  readonly tensors: ReadonlyMap<string, FloatTensor>;
  readonly spec: ArchitectureSpec;
  /** Model config for the forward pass (strides, pool_kernel, batch_norm_eps, activation). */
  readonly config?: ForwardConfig;
  /** The examples to distil on; their labels are ignored. */
  readonly examples: Dataset;
  /** `examples.count × classes` logits of the teacher, row-major, in the examples' order. */
  readonly teacherLogits: Float32Array;
  /** Adam steps to take, one mini-batch each. */
  readonly steps: number;
  /** Default 128. When an epoch runs out, its last batch may be smaller. */
  readonly batchSize?: number;
  /** Adam's step size; default 1e-3. */
  readonly learningRate?: number;
  /** Softmax temperature T of both sides; default 1. */
  readonly temperature?: number;
  /** Fixes the batch order (with the backend, the result bit for bit). */
  readonly seed: number;
  /** After every step: 1-based step, total steps, that step's mean loss. */
  readonly onStep?: (step: number, steps: number, loss: number) => void;
}

export interface DistillResult {
  /** Same names, shapes and order as the given tensors. */
  readonly tensors: Map<string, FloatTensor>;
  /** Each step's mean loss KL·T² over its batch, in training mode, before the step's update. */
  readonly lossHistory: readonly number[];
}

/** The distillation was asked for something it cannot do: no steps, logits that do not fit the examples. */
export class DistillOptionsError extends MalError {
  override readonly name = 'DistillOptionsError';
}

/**
 * KL(softmax(t/T) ‖ softmax(s/T))·T², the mean over the batch. Written with log-softmax on both sides so neither
 * large logits nor vanishing probabilities overflow; an example where the teacher gives a class probability 0
 * contributes 0 for it, as the limit p·log p → 0 says.
 */
export function distillationLoss(
  studentLogits: tf.Tensor2D,
  teacherLogits: tf.Tensor2D,
  temperature: number,
): tf.Scalar {
  return tf.tidy(() => {
    // Multiplying by 1/T rather than dividing: the trainer's gradient set (compute/gradients.ts) has Multiply,
    // not RealDiv. The teacher side needs no gradient at all.
    const inverse = 1 / temperature;
    const teacherLog = tf.logSoftmax(tf.mul(teacherLogits, inverse));
    const studentLog = tf.logSoftmax(tf.mul(studentLogits, inverse));
    const perExample = tf.sum(tf.mul(tf.exp(teacherLog), tf.sub(teacherLog, studentLog)), 1);
    return tf.mul(tf.mean(perExample), temperature * temperature) as tf.Scalar;
  });
}

function checkOptions(options: DistillOptions): { classes: number; batchSize: number; learningRate: number } {
  const { examples, teacherLogits, steps } = options;
  const batchSize = options.batchSize ?? 128;
  const learningRate = options.learningRate ?? 1e-3;
  const temperature = options.temperature ?? 1;
  if (examples.count === 0)
    throw new DistillOptionsError(`distill: the examples '${examples.name}' are empty`);
  if (!Number.isSafeInteger(steps) || steps < 1) {
    throw new DistillOptionsError(`distill: steps must be a positive integer, got ${steps}`);
  }
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
    throw new DistillOptionsError(`distill: the batch size must be a positive integer, got ${batchSize}`);
  }
  if (!(learningRate > 0 && Number.isFinite(learningRate))) {
    throw new DistillOptionsError(`distill: the learning rate must be positive, got ${learningRate}`);
  }
  if (!(temperature > 0 && Number.isFinite(temperature))) {
    throw new DistillOptionsError(`distill: the temperature must be positive, got ${temperature}`);
  }
  const classes = teacherLogits.length / examples.count;
  if (!Number.isInteger(classes) || classes < 1) {
    throw new DistillOptionsError(
      `distill: ${teacherLogits.length} teacher logits do not make one row per example of '${examples.name}' (${examples.count})`,
    );
  }
  const bad = teacherLogits.findIndex((value) => !Number.isFinite(value));
  if (bad >= 0) {
    throw new DistillOptionsError(
      `distill: teacher logit ${bad} (example ${Math.floor(bad / classes)}) is ${teacherLogits[bad]}; the teacher must give finite logits`,
    );
  }
  return { classes, batchSize, learningRate };
}

/**
 * Trains the student for `steps` Adam steps on the distillation loss. BatchNorm layers run in training mode and
 * their running statistics are updated as in training (train-model.ts). Returns new tensors; the given ones are
 * left as they are.
 */
export async function distillModel(options: DistillOptions): Promise<DistillResult> {
  const { examples, teacherLogits, steps, spec } = options;
  const { classes, batchSize, learningRate } = checkOptions(options);
  const temperature = options.temperature ?? 1;
  ensureTrainingGradients();
  const settings = resolveForwardSettings(spec, options.config);
  const state = new TrainingState(
    [...options.tensors].map(([name, tensor]) => ({
      name,
      shape: tensor.shape,
      values: tensor.data,
      trainable: !isBufferName(name),
    })),
  );
  const optimizer = pytorchAdam(learningRate);
  const orderRandom = new SeededRandom(options.seed);
  const batchFeatures = new Float32Array(batchSize * examples.exampleShape.reduce((a, b) => a * b, 1));
  const batchTeacher = new Float32Array(batchSize * classes);
  const lossHistory: number[] = [];
  try {
    const inputShape = modelInputShape(state.params(), spec, examples);
    let order = orderRandom.permutation(examples.count);
    let next = 0;
    for (let step = 1; step <= steps; step++) {
      if (next === examples.count) {
        order = orderRandom.permutation(examples.count);
        next = 0;
      }
      const count = Math.min(batchSize, examples.count - next);
      for (let i = 0; i < count; i++) {
        const example = order[next + i];
        batchTeacher.set(teacherLogits.subarray(example * classes, (example + 1) * classes), i * classes);
      }
      const input = batchInput(examples, order, next, count, inputShape, batchFeatures);
      const teacher = tf.tensor2d(batchTeacher.subarray(0, count * classes), [count, classes]);
      next += count;
      try {
        const loss = state.step(optimizer, spec, settings, input, (logits) => {
          if (logits.shape[1] !== classes) {
            throw new DistillOptionsError(
              `distill: the student has ${logits.shape[1]} outputs but the teacher logits have ${classes} per example`,
            );
          }
          return distillationLoss(logits, teacher, temperature);
        });
        const value = (await loss.data())[0];
        loss.dispose();
        lossHistory.push(value);
        options.onStep?.(step, steps, value);
      } finally {
        input.dispose();
        teacher.dispose();
      }
    }
    return { tensors: await state.read(), lossHistory };
  } finally {
    optimizer.dispose();
    state.dispose();
  }
}
