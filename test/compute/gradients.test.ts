import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { initBackend } from '../../src/compute/backend.js';
import { meanCrossEntropy } from '../../src/compute/cross-entropy.js';
import { ensureTrainingGradients } from '../../src/compute/gradients.js';
import { forwardLogits } from '../../src/eval/forward.js';
import { SeededRandom } from '../../src/random/seeded-random.js';
import type { ArchitectureSpec } from '../../src/spec/architecture-spec.js';
import { specOf } from '../eval/forward-test-helpers.js';
import { makeMlp, makeVggCnn, type SyntheticModel } from '../support/model-factory.js';

/**
 * Analytic gradients of the training loss (training-mode BatchNorm included) against central differences,
 * on a few entries of every parameter. Differences run in float32, so the tolerance is loose; the step is small
 * enough that no ReLU or max-pool switches sides for these seeds (1e-2 crosses one).
 */
async function checkAgainstFiniteDifferences(
  model: SyntheticModel,
  spec: ArchitectureSpec,
  inputShape: number[],
  config: Record<string, string | number>,
): Promise<void> {
  const random = new SeededRandom(3);
  const count = 6;
  const size = inputShape.reduce((a, b) => a * b, 1);
  const input = tf.tensor(random.normalArray(count * size), [count, ...inputShape]);
  const classes = [...model.tensors.values()].at(-1)?.shape[0] ?? 0;
  const labels = tf.tensor1d(
    Int32Array.from({ length: count }, (_, n) => n % classes),
    'int32',
  );
  const names = [...model.tensors.keys()].filter((name) => !/running_|num_batches/.test(name));
  const buffers = new Map<string, tf.Tensor>();
  for (const [name, t] of model.tensors)
    if (!names.includes(name)) buffers.set(name, tf.tensor(t.data, [...t.shape]));
  const lossOf = (values: tf.Tensor[]): tf.Scalar => {
    const params = new Map<string, tf.Tensor>(buffers);
    names.forEach((name, index) => {
      params.set(name, values[index]);
    });
    const { logits, batchStatistics } = forwardLogits(params, spec, input, { training: true, config });
    expect(batchStatistics.size).toBe(spec.layers.filter((layer) => layer.kind === 'batchnorm').length);
    return meanCrossEntropy(logits, labels);
  };
  const values = names.map((name) => {
    const t = model.tensors.get(name);
    if (t === undefined) throw new Error(name);
    return tf.tensor(t.data, [...t.shape]);
  });
  const gradients = tf.grads((...args: tf.Tensor[]) => lossOf(args))(values);
  const step = 2e-3;
  let checked = 0;
  for (let p = 0; p < names.length; p++) {
    const base = values[p].dataSync();
    const analytic = gradients[p].dataSync();
    for (const index of [0, Math.floor(base.length / 2), base.length - 1]) {
      const shifted = (delta: number): number =>
        tf.tidy(() => {
          const data = Float32Array.from(base);
          data[index] += delta;
          const moved = values.map((v, q) => (q === p ? tf.tensor(data, v.shape) : v));
          return lossOf(moved).dataSync()[0];
        });
      const numeric = (shifted(step) - shifted(-step)) / (2 * step);
      expect(
        Math.abs(numeric - analytic[index]),
        `${JSON.stringify(config)} ${names[p]}[${index}]`,
      ).toBeLessThan(2e-3 + 0.03 * Math.abs(numeric));
      checked++;
    }
  }
  expect(checked).toBe(3 * names.length);
  tf.dispose([input, labels, ...values, ...gradients, ...buffers.values()]);
}

describe('training gradients', () => {
  it('match finite differences for an MLP with each hidden activation', async () => {
    await initBackend('cpu');
    ensureTrainingGradients();
    const model = makeMlp({ widths: [5, 7, 6, 3], naming: 'layers', seed: 2 });
    for (const activation of ['relu', 'tanh', 'sigmoid', 'gelu', 'silu']) {
      const config = { activation };
      await checkAgainstFiniteDifferences(model, specOf(model), [5], config);
    }
  });

  it('match finite differences for a CNN with training-mode BatchNorm and max-pooling', async () => {
    await initBackend('cpu');
    ensureTrainingGradients();
    const model = makeVggCnn({
      inChannels: 2,
      channels: [3, 4],
      imageSize: 8,
      hidden: [5],
      classes: 3,
      seed: 4,
    });
    await checkAgainstFiniteDifferences(model, specOf(model), [2, 8, 8], model.config);
  });

  it('the conv filter gradient on wasm (swapped convolution) equals the cpu kernel, strided or not', async () => {
    const random = new SeededRandom(9);
    const cases = [
      { side: 7, stride: 1, pad: 1, kernel: 3 },
      { side: 9, stride: 2, pad: 1, kernel: 3 },
      { side: 8, stride: 2, pad: 0, kernel: 1 },
    ];
    for (const { side, stride, pad, kernel } of cases) {
      const xData = random.normalArray(2 * side * side * 3);
      const filterData = random.normalArray(kernel * kernel * 3 * 4);
      const gradientOn = async (backend: 'cpu' | 'wasm'): Promise<Float32Array> => {
        await initBackend(backend);
        ensureTrainingGradients();
        const x = tf.tensor4d(xData, [2, side, side, 3]);
        const filter = tf.tensor4d(filterData, [kernel, kernel, 3, 4]);
        const gradient = tf.grad((f: tf.Tensor) =>
          tf.sum(tf.square(tf.conv2d(x, f as tf.Tensor4D, stride, pad))),
        )(filter);
        const data = Float32Array.from(await gradient.data());
        tf.dispose([x, filter, gradient]);
        return data;
      };
      const expected = await gradientOn('cpu');
      const actual = await gradientOn('wasm');
      let max = 0;
      for (let i = 0; i < expected.length; i++)
        max = Math.max(max, Math.abs(actual[i] - expected[i]) / (1 + Math.abs(expected[i])));
      expect(max, `side ${side} stride ${stride}`).toBeLessThan(1e-4);
    }
  });

  it('matMul gradients agree for every transpose flag (explicit transposes on wasm)', async () => {
    for (const backend of ['cpu', 'wasm'] as const) {
      await initBackend(backend);
      ensureTrainingGradients();
      const random = new SeededRandom(11);
      const a = tf.tensor2d(random.normalArray(35), [5, 7]);
      const b = tf.tensor2d(random.normalArray(21), [7, 3]);
      const lossOf = (x: tf.Tensor, y: tf.Tensor): tf.Scalar =>
        tf.sum(tf.square(tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D)));
      const [expectedA, expectedB] = tf.grads(lossOf)([a, b]);
      for (const [transposeA, transposeB] of [
        [true, false],
        [false, true],
        [true, true],
      ] as const) {
        const left = transposeA ? tf.transpose(a) : a;
        const right = transposeB ? tf.transpose(b) : b;
        const [gradLeft, gradRight] = tf.grads((x: tf.Tensor, y: tf.Tensor) =>
          tf.sum(tf.square(tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D, transposeA, transposeB))),
        )([left, right]);
        const gradA = transposeA ? tf.transpose(gradLeft) : gradLeft;
        const gradB = transposeB ? tf.transpose(gradRight) : gradRight;
        expect(tf.max(tf.abs(tf.sub(gradA, expectedA))).dataSync()[0]).toBeLessThan(1e-4);
        expect(tf.max(tf.abs(tf.sub(gradB, expectedB))).dataSync()[0]).toBeLessThan(1e-4);
      }
      tf.disposeVariables();
    }
  });
});
