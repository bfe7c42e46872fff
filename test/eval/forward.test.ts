import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { disposeParams, paramsFromTensors } from '../../src/eval/evaluate.js';
import { disposeForwardResult, forwardLogits } from '../../src/eval/forward.js';
import type { FloatTensor } from '../../src/tensor/tensor.js';
import {
  makeMlp,
  makeResNet,
  makeVggCnn,
  randomImages,
  randomVectors,
  type SyntheticModel,
} from '../support/model-factory.js';
import { maxAbsDifference, mlpForward, resnetForward, vggForward } from '../support/reference-forward.js';
import {
  batchOf,
  roundedToFloat32,
  rowsOf,
  specOf,
  testBackends,
  useBackend,
} from './forward-test-helpers.js';

const TOLERANCE = 1e-4;

function tfLogits(model: SyntheticModel, input: tf.Tensor): Float64Array[] {
  const params = paramsFromTensors(model.tensors);
  try {
    const result = forwardLogits(params, specOf(model), input, { config: model.config });
    const rows = rowsOf(result.logits);
    disposeForwardResult(result);
    return rows;
  } finally {
    disposeParams(params);
    input.dispose();
  }
}

/** Pads space `features.{4·block}` of a VGG with dead channels: zero conv filters, BN gamma 0, running_var 0. */
function padVggBlock(model: SyntheticModel, block: number, extra: number): SyntheticModel {
  const tensors = new Map<string, FloatTensor>();
  const conv = `features.${4 * block}`;
  const bn = `features.${4 * block + 1}`;
  const nextConv = `features.${4 * block + 4}`;
  const grow = (tensor: FloatTensor, axis: number): FloatTensor => {
    const shape = [...tensor.shape];
    const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
    const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    const old = shape[axis];
    shape[axis] = old + extra;
    const data = new Float32Array(outer * shape[axis] * inner);
    for (let o = 0; o < outer; o++)
      data.set(tensor.data.subarray(o * old * inner, (o + 1) * old * inner), o * shape[axis] * inner);
    return { shape, data };
  };
  for (const [name, tensor] of model.tensors) {
    if (name.startsWith(`${conv}.`) || (name.startsWith(`${bn}.`) && tensor.shape.length === 1)) {
      tensors.set(name, grow(tensor, 0));
    } else if (name === `${nextConv}.weight`) {
      tensors.set(name, grow(tensor, 1));
    } else tensors.set(name, tensor);
  }
  return { tensors, config: model.config };
}

describe.each(testBackends())('forwardLogits on %s matches the float64 reference', (backend) => {
  afterAll(() => {
    tf.disposeVariables();
  });

  it('MLPs of several widths and namings', async () => {
    await useBackend(backend);
    const cases = [
      makeMlp({ widths: [784, 64, 10], naming: 'layers', seed: 1 }),
      makeMlp({ widths: [20, 7, 13, 5], naming: 'fc', seed: 2 }),
      makeMlp({ widths: [12, 33, 3], naming: 'sequential', bias: false, seed: 3 }),
    ];
    for (const model of cases) {
      const inputSize = [...model.tensors.values()][0].shape[1];
      const inputs = roundedToFloat32(randomVectors(6, inputSize, 11));
      const expected = mlpForward(model.tensors, model.config, inputs);
      const actual = tfLogits(model, batchOf(inputs, [inputSize]));
      expect(maxAbsDifference(actual, expected)).toBeLessThan(TOLERANCE);
    }
  });

  it('VGG CNNs with BatchNorm, with and without a hidden dense layer', async () => {
    await useBackend(backend);
    const cases = [
      makeVggCnn({ inChannels: 1, channels: [4, 6], imageSize: 8, hidden: [10], classes: 5, seed: 4 }),
      makeVggCnn({ inChannels: 3, channels: [5, 3, 7], imageSize: 16, classes: 4, seed: 5 }),
      makeVggCnn({ inChannels: 1, channels: [8, 16], imageSize: 28, hidden: [32], classes: 10, seed: 6 }),
    ];
    for (const model of cases) {
      const channels = [...model.tensors.values()][0].shape[1];
      const side = Number(model.config.image_size);
      const images = roundedToFloat32(randomImages(4, channels, side, 12));
      const expected = vggForward(model.tensors, model.config, images);
      const actual = tfLogits(model, batchOf(images, [channels, side, side]));
      expect(maxAbsDifference(actual, expected)).toBeLessThan(TOLERANCE);
    }
  });

  it('a VGG padded with dead channels (running_var 0) gives the same logits', async () => {
    await useBackend(backend);
    const model = makeVggCnn({
      inChannels: 1,
      channels: [4, 6],
      imageSize: 8,
      hidden: [10],
      classes: 5,
      seed: 7,
    });
    const padded = padVggBlock(model, 0, 3);
    const bnVar = padded.tensors.get('features.1.running_var');
    expect(bnVar?.shape).toEqual([7]);
    expect(bnVar?.data[6]).toBe(0);
    const images = roundedToFloat32(randomImages(3, 1, 8, 13));
    const expected = vggForward(model.tensors, model.config, images);
    const actual = tfLogits(padded, batchOf(images, [1, 8, 8]));
    expect(maxAbsDifference(actual, expected)).toBeLessThan(TOLERANCE);
  });

  it('ResNets with stride-1 and strided, widening stages', async () => {
    await useBackend(backend);
    const cases = [
      makeResNet({
        inChannels: 1,
        stemChannels: 4,
        stages: [
          { channels: 4, blocks: 2, stride: 1 },
          { channels: 6, blocks: 1, stride: 2 },
        ],
        classes: 3,
        seed: 8,
      }),
      makeResNet({
        inChannels: 3,
        stemChannels: 5,
        stages: [
          { channels: 7, blocks: 1, stride: 1 },
          { channels: 9, blocks: 2, stride: 2 },
          { channels: 4, blocks: 1, stride: 2 },
        ],
        classes: 6,
        imageSize: 12,
        seed: 9,
      }),
    ];
    // torchvision's stem: strided, then max-pooled (an odd side, so the pool's padding matters).
    const torchvision = makeResNet({
      inChannels: 3,
      stemChannels: 4,
      stages: [
        { channels: 4, blocks: 1, stride: 1 },
        { channels: 6, blocks: 1, stride: 2 },
      ],
      classes: 5,
      imageSize: 13,
      seed: 10,
    });
    cases.push({ ...torchvision, config: { ...torchvision.config, stem_stride: 2, stem_pool: 'max' } });
    for (const model of cases) {
      const channels = model.tensors.get('conv1.weight')?.shape[1] ?? 0;
      const side = Number(model.config.image_size);
      const images = roundedToFloat32(randomImages(3, channels, side, 14));
      const expected = resnetForward(model.tensors, model.config, images);
      const actual = tfLogits(model, batchOf(images, [channels, side, side]));
      expect(maxAbsDifference(actual, expected)).toBeLessThan(TOLERANCE);
    }
  });

  it('frees every intermediate tensor', async () => {
    await useBackend(backend);
    const model = makeVggCnn({ inChannels: 1, channels: [4], imageSize: 8, classes: 3, seed: 10 });
    const params = paramsFromTensors(model.tensors);
    const input = tf.zeros([2, 1, 8, 8]);
    const before = tf.memory().numTensors;
    const result = forwardLogits(params, specOf(model), input, { config: model.config });
    expect(tf.memory().numTensors).toBe(before + 1);
    disposeForwardResult(result);
    expect(tf.memory().numTensors).toBe(before);
    input.dispose();
    disposeParams(params);
  });
});
