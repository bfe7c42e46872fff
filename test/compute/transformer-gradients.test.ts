import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { ensureTrainingGradients } from '../../src/compute/gradients.js';
import { transformerLogits } from '../../src/eval/forward-transformer.js';
import { SeededRandom } from '../../src/random/seeded-random.js';
import type { FloatTensor } from '../../src/tensor/tensor.js';
import { causalLmLoss } from '../../src/train/causal-lm-loss.js';
import { specOf, useBackend } from '../eval/forward-test-helpers.js';
import { makeGpt2, makeLlama, randomTokens, type SyntheticModel } from '../support/model-factory.js';
import { gpt2Forward, llamaForward } from '../support/reference-forward.js';
import { referenceLmScore, type TransformerReference } from '../support/reference-transformer.js';

/**
 * Analytic gradients of the causal LM loss through the tfjs GPT-2 and LLaMA passes, against central differences
 * of the float64 reference loss (test/support, no tfjs): every parameter, three entries each.
 */
function checkModel(model: SyntheticModel, reference: TransformerReference, vocab: number): number {
  const sequences = Array.from({ length: 3 }, (_, i) => randomTokens(6, vocab, 40 + i));
  const names = [...model.tensors.keys()];
  const values = names.map((name) => {
    const t = model.tensors.get(name) as FloatTensor;
    return tf.tensor(t.data, [...t.shape]);
  });
  const spec = specOf(model);
  const inputs = tf.tensor2d(
    sequences.flatMap((s) => s.slice(0, -1)),
    [sequences.length, 5],
    'int32',
  );
  const targets = tf.tensor1d(
    sequences.flatMap((s) => s.slice(1)),
    'int32',
  );
  const lossOf = (...args: tf.Tensor[]): tf.Scalar => {
    const params = new Map(names.map((name, i) => [name, args[i]]));
    return causalLmLoss(transformerLogits(params, spec, inputs, { config: model.config }), targets);
  };
  const analyticLoss = lossOf(...values).dataSync()[0];
  const referenceLoss = referenceLmScore(reference, model.tensors, model.config, sequences).loss;
  expect(Math.abs(analyticLoss - referenceLoss)).toBeLessThan(1e-4);
  const gradients = tf.grads(lossOf)(values);
  const step = 1e-3;
  let checked = 0;
  names.forEach((name, p) => {
    const base = model.tensors.get(name) as FloatTensor;
    const analytic = gradients[p].dataSync();
    for (const index of [0, Math.floor(base.data.length / 2), base.data.length - 1]) {
      // Divided by the steps float32 really took, so the rounding of `value ± step` cancels.
      const moved = (delta: number): { loss: number; taken: number } => {
        const data = Float32Array.from(base.data);
        data[index] += delta;
        const tensors = new Map(model.tensors);
        tensors.set(name, { shape: base.shape, data });
        const loss = referenceLmScore(reference, tensors, model.config, sequences).loss;
        return { loss, taken: data[index] - base.data[index] };
      };
      const up = moved(step);
      const down = moved(-step);
      const numeric = (up.loss - down.loss) / (up.taken - down.taken);
      expect(Math.abs(numeric - analytic[index]), `${name}[${index}]`).toBeLessThan(
        2e-4 + 0.01 * Math.abs(numeric),
      );
      checked++;
    }
  });
  tf.dispose([inputs, targets, ...values, ...gradients]);
  return checked;
}

describe('gradients of the transformer passes', () => {
  it('GPT-2 (tied head, learned positions, fused q|k|v) matches the float64 reference loss', async () => {
    await useBackend('cpu');
    ensureTrainingGradients();
    const model = makeGpt2({ vocab: 11, positions: 8, dModel: 8, nHead: 2, nLayer: 2, seed: 5 });
    const tensors = new Map(model.tensors);
    tensors.delete('lm_head.weight');
    const checked = checkModel({ tensors, config: model.config }, gpt2Forward, 11);
    expect(checked).toBe(3 * tensors.size);
  });

  it('LLaMA (grouped-query heads, RoPE, SwiGLU, q/k/v biases) matches the float64 reference loss', async () => {
    await useBackend('cpu');
    ensureTrainingGradients();
    const model = makeLlama({
      vocab: 9,
      dModel: 8,
      nHead: 4,
      nKvHead: 2,
      headDim: 2,
      ff: 6,
      nLayer: 2,
      qkvBias: true,
      seed: 6,
    });
    const checked = checkModel(model, llamaForward, 9);
    expect(checked).toBe(3 * model.tensors.size);
  });

  it('each new kernel gradient matches central differences, on cpu and wasm', async () => {
    const random = new SeededRandom(8);
    const x = random.normalArray(4 * 6);
    const weights = random.normalArray(64);
    const cases: { readonly name: string; readonly op: (t: tf.Tensor) => tf.Tensor }[] = [
      // Index 2 twice: the gradient must sum both reads.
      { name: 'gather rows', op: (t) => tf.gather(t, tf.tensor1d([2, 0, 2], 'int32')) },
      { name: 'gather columns', op: (t) => tf.gather(t, tf.tensor1d([5, 1, 5, 3], 'int32'), 1) },
      { name: 'slice', op: (t) => tf.slice(t, [1, 2], [2, 3]) },
      { name: 'split', op: (t) => tf.split(t, [1, 3, 2], 1)[1] },
      {
        name: 'split, all parts',
        op: (t) => {
          const [a, b] = tf.split(t, [4, 2], 1);
          return tf.sub(tf.sum(tf.square(a)), tf.mul(tf.sum(b), 3));
        },
      },
      { name: 'softmax', op: (t) => tf.softmax(t) },
      { name: 'squared difference', op: (t) => tf.squaredDifference(t, tf.mean(t, 1, true)) },
      { name: 'moments', op: (t) => tf.moments(t, 1, true).variance },
    ];
    for (const backend of ['cpu', 'wasm'] as const) {
      await useBackend(backend);
      ensureTrainingGradients();
      for (const { name, op } of cases) {
        const scalarOf = (t: tf.Tensor): tf.Scalar =>
          tf.tidy(() => {
            const y = op(t);
            return tf.sum(tf.mul(y, tf.tensor(weights.subarray(0, y.size), y.shape)));
          });
        const input = tf.tensor2d(x, [4, 6]);
        const analytic = tf.grad(scalarOf)(input).dataSync();
        const step = 1e-2;
        for (let i = 0; i < x.length; i++) {
          const at = (delta: number): number => {
            const data = Float32Array.from(x);
            data[i] += delta;
            return tf.tidy(() => scalarOf(tf.tensor2d(data, [4, 6])).dataSync()[0]);
          };
          const numeric = (at(step) - at(-step)) / (2 * step);
          expect(Math.abs(numeric - analytic[i]), `${backend} ${name} [${i}]`).toBeLessThan(
            3e-3 + 0.01 * Math.abs(numeric),
          );
        }
        input.dispose();
      }
    }
  });
});
