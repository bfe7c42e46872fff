import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import type { Dataset } from '../../src/data/dataset.js';
import { MalError } from '../../src/errors.js';
import { disposeParams, evaluateModel, paramsFromTensors } from '../../src/eval/evaluate.js';
import { makeMlp, makeVggCnn, randomVectors, type SyntheticModel } from '../support/model-factory.js';
import { mlpForward, vggForward } from '../support/reference-forward.js';
import { roundedToFloat32, specOf, useBackend } from './forward-test-helpers.js';

function datasetOf(
  rows: readonly Float64Array[],
  labels: readonly number[],
  exampleShape: number[],
): Dataset {
  const size = exampleShape.reduce((a, b) => a * b, 1);
  const features = new Float32Array(rows.length * size);
  rows.forEach((row, index) => {
    features.set(row, index * size);
  });
  return {
    name: 'synthetic',
    count: rows.length,
    exampleShape,
    features,
    labels: Int32Array.from(labels),
    classes: Math.max(...labels) + 1,
  };
}

/** Mean cross-entropy and accuracy computed by hand in float64 from reference logits. */
function handEvaluation(
  logits: readonly Float64Array[],
  labels: readonly number[],
): { loss: number; accuracy: number } {
  let loss = 0;
  let correct = 0;
  logits.forEach((row, index) => {
    const max = Math.max(...row);
    const logSum = Math.log(row.reduce((sum, value) => sum + Math.exp(value - max), 0)) + max;
    loss += logSum - row[labels[index]];
    const predicted = row.indexOf(max);
    if (predicted === labels[index]) correct++;
  });
  return { loss: loss / logits.length, accuracy: correct / logits.length };
}

async function evaluateBoth(
  model: SyntheticModel,
  dataset: Dataset,
  batchSize: number,
): Promise<{ loss: number; accuracy: number; count: number }> {
  const params = paramsFromTensors(model.tensors);
  try {
    return await evaluateModel(params, specOf(model), dataset, { batchSize, config: model.config });
  } finally {
    disposeParams(params);
  }
}

describe('evaluateModel', () => {
  it('matches a hand computation of loss and accuracy for an MLP, across uneven batches', async () => {
    await useBackend('wasm');
    const model = makeMlp({ widths: [10, 16, 4], naming: 'layers', seed: 21 });
    const inputs = roundedToFloat32(randomVectors(11, 10, 22));
    const logits = mlpForward(model.tensors, model.config, inputs);
    // Half the labels are the reference's argmax, half shifted, so accuracy is neither 0 nor 1.
    const labels = logits.map((row, index) => (row.indexOf(Math.max(...row)) + (index % 2)) % 4);
    const expected = handEvaluation(logits, labels);
    expect(expected.accuracy).toBeGreaterThan(0.3);
    expect(expected.accuracy).toBeLessThan(0.7);
    const before = tf.memory().numTensors;
    const result = await evaluateBoth(model, datasetOf(inputs, labels, [10]), 4);
    expect(tf.memory().numTensors).toBe(before);
    expect(result.count).toBe(11);
    expect(result.accuracy).toBe(expected.accuracy);
    expect(Math.abs(result.loss - expected.loss)).toBeLessThan(1e-5);
  });

  it('stays finite for huge logits (stable log-softmax)', async () => {
    await useBackend('cpu');
    const model = makeMlp({ widths: [3, 2], naming: 'fc', seed: 23 });
    const weight = model.tensors.get('fc1.weight');
    if (weight === undefined) throw new Error('no fc1.weight');
    weight.data.set([1000, 0, 0, -1000, 0, 0]);
    model.tensors.get('fc1.bias')?.data.fill(0);
    // Logits ±1000: the label-1 example loses by 2000 nats, the label-0 one by ~0.
    const result = await evaluateBoth(
      model,
      datasetOf([Float64Array.of(1, 0, 0), Float64Array.of(1, 0, 0)], [0, 1], [3]),
      2,
    );
    expect(result.loss).toBeCloseTo(1000, 3);
    expect(result.accuracy).toBe(0.5);
  });

  it('folds flat examples into images for a CNN and matches the reference', async () => {
    await useBackend('wasm');
    const model = makeVggCnn({
      inChannels: 1,
      channels: [3, 5],
      imageSize: 8,
      hidden: [6],
      classes: 3,
      seed: 24,
    });
    const images = roundedToFloat32(randomVectors(9, 64, 25));
    const logits = vggForward(model.tensors, model.config, images);
    const labels = logits.map((_, index) => index % 3);
    const expected = handEvaluation(logits, labels);
    const flat = await evaluateBoth(model, datasetOf(images, labels, [64]), 5);
    const shaped = await evaluateBoth(model, datasetOf(images, labels, [1, 8, 8]), 1000);
    for (const result of [flat, shaped]) {
      expect(result.accuracy).toBe(expected.accuracy);
      expect(Math.abs(result.loss - expected.loss)).toBeLessThan(1e-5);
    }
  });

  it('refuses labels outside the model outputs', async () => {
    await useBackend('cpu');
    const model = makeMlp({ widths: [3, 2], naming: 'fc', seed: 26 });
    const dataset = datasetOf([Float64Array.of(1, 2, 3)], [5], [3]);
    await expect(evaluateBoth(model, dataset, 10)).rejects.toThrow(MalError);
    await expect(evaluateBoth(model, dataset, 10)).rejects.toThrow(/label 5 but the model has 2 outputs/);
  });
});
