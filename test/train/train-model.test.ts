import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { initBackend } from '../../src/compute/backend.js';
import type { Dataset } from '../../src/data/dataset.js';
import { disposeParams, evaluateModel, paramsFromTensors } from '../../src/eval/evaluate.js';
import { forwardLogits } from '../../src/eval/forward.js';
import { SeededRandom } from '../../src/random/seeded-random.js';
import { deriveSpec } from '../../src/spec/derive-spec.js';
import { computeSpaceWidths } from '../../src/spec/space-widths.js';
import type { FloatTensor } from '../../src/tensor/tensor.js';
import { type EpochReport, type TrainedModel, trainModel } from '../../src/train/train-model.js';
import { maxAbsDifference, mlpForward, vggForward } from '../support/reference-forward.js';

/**
 * Labels are the argmax of a fixed random linear map of the features, keeping only examples whose best class
 * wins by a margin: separable by construction, with room on both sides of every boundary.
 */
function linearlySeparable(count: number, features: number, classes: number, seed: number): Dataset {
  const random = new SeededRandom(seed);
  const teacher = random.normalArray(classes * features);
  const data = new Float32Array(count * features);
  const labels = new Int32Array(count);
  const scores = new Float64Array(classes);
  for (let n = 0; n < count; ) {
    for (let f = 0; f < features; f++) data[n * features + f] = random.next();
    for (let c = 0; c < classes; c++) {
      scores[c] = 0;
      for (let f = 0; f < features; f++)
        scores[c] += teacher[c * features + f] * (data[n * features + f] - 0.5);
    }
    const sorted = [...scores].sort((a, b) => b - a);
    if (sorted[0] - sorted[1] < 0.5) continue;
    labels[n] = scores.indexOf(sorted[0]);
    n++;
  }
  return { name: 'separable', count, exampleShape: [features], features: data, labels, classes };
}

/** Images whose class is the quadrant holding a bright blob, plus noise: needs the spatial layout. */
function blobImages(count: number, side: number, seed: number): Dataset {
  const random = new SeededRandom(seed);
  const features = new Float32Array(count * side * side);
  const labels = new Int32Array(count);
  const half = side / 2;
  for (let n = 0; n < count; n++) {
    const label = random.int(4);
    labels[n] = label;
    const y0 = (label >> 1) * half + random.int(half - 2);
    const x0 = (label & 1) * half + random.int(half - 2);
    for (let p = 0; p < side * side; p++) features[n * side * side + p] = 0.3 * random.next();
    for (let dy = 0; dy < 3; dy++)
      for (let dx = 0; dx < 3; dx++) features[n * side * side + (y0 + dy) * side + x0 + dx] = 1;
  }
  return { name: 'blobs', count, exampleShape: [1, side, side], features, labels, classes: 4 };
}

function infosOf(model: TrainedModel): { name: string; dtype: 'F32'; shape: readonly number[] }[] {
  return [...model.tensors].map(([name, tensor]) => ({ name, dtype: 'F32', shape: tensor.shape }));
}

function bytesOf(tensors: Map<string, FloatTensor>): string {
  return [...tensors]
    .map(([name, t]) => `${name}:${Buffer.from(t.data.buffer).toString('base64')}`)
    .join('|');
}

describe('trainModel', () => {
  it('an MLP reaches high accuracy in one epoch on separable data, deterministically for a seed', async () => {
    await initBackend('wasm');
    const dataset = linearlySeparable(3000, 16, 3, 31);
    const reports: EpochReport[] = [];
    const options = {
      architecture: 'mlp',
      hidden: [32],
      dataset,
      epochs: 1,
      batchSize: 32,
      learningRate: 0.01,
      seed: 5,
    } as const;
    const first = await trainModel({ ...options, onEpoch: (report) => reports.push(report) });
    const second = await trainModel(options);
    expect(bytesOf(second.tensors)).toBe(bytesOf(first.tensors));
    const other = await trainModel({ ...options, seed: 6 });
    expect(bytesOf(other.tensors)).not.toBe(bytesOf(first.tensors));

    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ epoch: 1, epochs: 1 });
    expect(reports[0].accuracy).toBeGreaterThan(0.8);
    const params = paramsFromTensors(first.tensors);
    const spec = deriveSpec(infosOf(first), { config: first.config });
    const evaluation = await evaluateModel(params, spec, dataset, { config: first.config });
    disposeParams(params);
    expect(evaluation.accuracy).toBeGreaterThan(0.97);

    // PyTorch names, a spec with the trained widths, and the float64 reference agrees with it.
    expect([...first.tensors.keys()]).toEqual([
      'layers.0.weight',
      'layers.0.bias',
      'layers.1.weight',
      'layers.1.bias',
    ]);
    expect(spec.family).toBe('mlp');
    expect(
      Object.fromEntries(computeSpaceWidths(spec, new Map(infosOf(first).map((i) => [i.name, i.shape])))),
    ).toEqual({
      input: 16,
      'layers.0': 32,
      output: 3,
    });
    // The float64 reference reads the trained tensors and config the same way: it classifies as well.
    const samples = [...Array(200).keys()].map((n) =>
      Float64Array.from(dataset.features.subarray(n * 16, (n + 1) * 16)),
    );
    const referenceLogits = mlpForward(first.tensors, first.config, samples);
    const agree = referenceLogits.filter(
      (row, n) => row.indexOf(Math.max(...row)) === dataset.labels[n],
    ).length;
    expect(agree / samples.length).toBeGreaterThan(0.95);
    expect(first.config).toMatchObject({
      architecture: 'mlp',
      activation: 'relu',
      input_size: 16,
      hidden_sizes: '32',
      seed: 5,
    });
    expect(tf.memory().numTensors).toBe(0);
  });

  it('a CNN with BatchNorm trains, lowers its loss and updates running statistics', async () => {
    await initBackend('wasm');
    const dataset = blobImages(384, 12, 41);
    const reports: EpochReport[] = [];
    let batches = 0;
    const model = await trainModel({
      architecture: 'cnn',
      hidden: [4, 8],
      dense: [12],
      dataset,
      epochs: 3,
      batchSize: 32,
      learningRate: 0.01,
      seed: 7,
      onEpoch: (report) => reports.push(report),
      onBatch: (done, total) => {
        batches = done;
        expect(total).toBe(36);
      },
    });
    expect(batches).toBe(36);
    expect(reports.map((r) => r.epoch)).toEqual([1, 2, 3]);
    expect(reports[2].loss).toBeLessThan(reports[0].loss * 0.8);
    expect([...model.tensors.keys()]).toEqual([
      'features.0.weight',
      'features.0.bias',
      'features.1.weight',
      'features.1.bias',
      'features.1.running_mean',
      'features.1.running_var',
      'features.1.num_batches_tracked',
      'features.4.weight',
      'features.4.bias',
      'features.5.weight',
      'features.5.bias',
      'features.5.running_mean',
      'features.5.running_var',
      'features.5.num_batches_tracked',
      'classifier.0.weight',
      'classifier.0.bias',
      'classifier.3.weight',
      'classifier.3.bias',
    ]);
    expect(model.tensors.get('classifier.0.weight')?.shape).toEqual([12, 8 * 3 * 3]);
    expect(model.tensors.get('features.1.num_batches_tracked')?.data[0]).toBe(36);
    // Running statistics moved away from their initial 0 and 1.
    expect(model.tensors.get('features.1.running_mean')?.data.some((v) => Math.abs(v) > 1e-3)).toBe(true);
    expect(model.tensors.get('features.5.running_var')?.data.some((v) => Math.abs(v - 1) > 1e-3)).toBe(true);

    const spec = deriveSpec(infosOf(model), { config: model.config });
    expect(spec.family).toBe('cnn');
    expect(spec.layers.map((layer) => `${layer.name}:${layer.kind}`)).toEqual([
      'features.0:conv',
      'features.1:batchnorm',
      'features.4:conv',
      'features.5:batchnorm',
      'classifier.0:dense',
      'classifier.3:dense',
    ]);
    // Eval mode with the running statistics: the float64 reference and evaluateModel agree, and it learned.
    const params = paramsFromTensors(model.tensors);
    const evaluation = await evaluateModel(params, spec, dataset, { config: model.config });
    disposeParams(params);
    expect(evaluation.accuracy).toBeGreaterThan(0.95);
    const images = [0, 1, 2].map((n) => Float64Array.from(dataset.features.subarray(n * 144, (n + 1) * 144)));
    const expected = vggForward(model.tensors, model.config, images);
    const evalParams = paramsFromTensors(model.tensors);
    const input = tf.tensor(dataset.features.subarray(0, 3 * 144), [3, 1, 12, 12]);
    const { logits } = forwardLogits(evalParams, spec, input, { config: model.config });
    const actual = [0, 1, 2].map((n) => Float64Array.from(logits.dataSync().subarray(n * 4, (n + 1) * 4)));
    for (const tensor of [input, logits]) tensor.dispose();
    disposeParams(evalParams);
    expect(maxAbsDifference(actual, expected)).toBeLessThan(1e-4);
    expect(tf.memory().numTensors).toBe(0);
  });
});
