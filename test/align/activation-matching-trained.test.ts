import { beforeAll, describe, expect, it } from 'vitest';
import { activationMatching } from '../../src/align/activation-matching.js';
import { planAlignment, withTensors } from '../../src/align/alignment-problem.js';
import { identityWithTruncation, type SpaceMap } from '../../src/align/space-map.js';
import { initBackend } from '../../src/compute/backend.js';
import type { Dataset } from '../../src/data/dataset.js';
import { loadDataset } from '../../src/data/load-dataset.js';
import { InterpolationPath } from '../../src/eval/interpolation-path.js';
import { evaluateTensors } from '../../src/eval/model-evaluation.js';
import { SeededRandom } from '../../src/random/seeded-random.js';
import { type TrainedModel, trainModel } from '../../src/train/train-model.js';
import { requireFashionMnist } from '../data/fashion-mnist-required.js';
import { specOf, widthsOf } from '../support/transform-model.js';

/** Examples of `data` at `indices`. */
function subset(data: Dataset, indices: readonly number[], name: string): Dataset {
  const size = data.exampleShape.reduce((a, b) => a * b, 1);
  const features = new Float32Array(indices.length * size);
  const labels = new Int32Array(indices.length);
  indices.forEach((i, n) => {
    features.set(data.features.subarray(i * size, (i + 1) * size), n * size);
    labels[n] = data.labels[i];
  });
  return { ...data, name, count: indices.length, features, labels };
}

/**
 * Git Re-Basin's class-biased split: A holds 80 % of the examples of classes 0–4 and 20 % of 5–9, B the rest.
 */
function classBiasedHalves(data: Dataset, seed: number): [Dataset, Dataset] {
  const random = new SeededRandom(seed);
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < data.count; i++) {
    const toA = random.next() < (data.labels[i] < 5 ? 0.8 : 0.2);
    (toA ? a : b).push(i);
  }
  return [subset(data, a, 'split-a'), subset(data, b, 'split-b')];
}

function barrier(curve: readonly number[]): number {
  const last = curve.length - 1;
  return Math.max(...curve.map((l, k) => l - ((1 - k / last) * curve[0] + (k / last) * curve[last])));
}

describe('activation matching and REPAIR on two MLPs trained on class-biased halves of Fashion-MNIST', () => {
  let a: TrainedModel;
  let b: TrainedModel;
  let probe: Dataset;
  let test: Dataset;

  beforeAll(async () => {
    requireFashionMnist();
    await initBackend('cpu');
    const train = await loadDataset('fashion-mnist:train', { layout: 'flat', limit: 4000 });
    const [halfA, halfB] = classBiasedHalves(train, 1);
    const options = { architecture: 'mlp', hidden: [48, 48], epochs: 2, batchSize: 64 } as const;
    a = await trainModel({ ...options, dataset: halfA, seed: 1 });
    b = await trainModel({ ...options, dataset: halfB, seed: 2 });
    probe = subset(
      train,
      Array.from({ length: 1000 }, (_, i) => 3000 + i),
      'probe',
    );
    test = await loadDataset('fashion-mnist:test', { layout: 'flat', limit: 1000 });
  }, 120_000);

  it('lowers the interpolation barrier against no alignment, and REPAIR lowers the midpoint loss', async () => {
    const base = { spec: specOf(a.tensors, a.config), tensors: a.tensors, config: a.config };
    const target = { spec: specOf(b.tensors, b.config), tensors: b.tensors, config: b.config };
    const plan = planAlignment(
      { ...base, widths: widthsOf(base.spec, a.tensors) },
      { ...target, widths: widthsOf(target.spec, b.tensors) },
    );
    const problem = withTensors(plan, a.tensors, b.tensors);
    const identity = new Map<string, SpaceMap>(
      plan.spaces.map((s) => [
        s.baseSpace,
        { ...s, map: identityWithTruncation(s.baseWidth, s.targetWidth) },
      ]),
    );
    const matched = activationMatching(plan, base, target, { data: probe }).maps;
    const grid = [0, 0.25, 0.5, 0.75, 1];
    const curveOf = async (path: InterpolationPath): Promise<number[]> => {
      const losses: number[] = [];
      for (const lambda of grid)
        losses.push((await evaluateTensors(path.at(lambda), base.spec, test, a.config)).loss);
      return losses;
    };
    const naive = await curveOf(new InterpolationPath(a.tensors, problem, identity, 'incompatible', 'zero'));
    const aligned = await curveOf(new InterpolationPath(a.tensors, problem, matched, 'incompatible', 'zero'));
    const repaired = await curveOf(
      new InterpolationPath(a.tensors, problem, matched, 'incompatible', {
        choice: { method: 'mal', unmatched: 'zero' },
        repair: { spec: base.spec, config: a.config, data: probe },
      }),
    );
    console.log(
      JSON.stringify({
        naive: { curve: naive, barrier: barrier(naive) },
        activations: { curve: aligned, barrier: barrier(aligned) },
        activationsRepair: { curve: repaired, barrier: barrier(repaired) },
      }),
    );
    expect(barrier(aligned)).toBeLessThan(barrier(naive));
    expect(repaired[2]).toBeLessThan(aligned[2]);
    // REPAIR leaves the endpoints' functions as they were.
    expect(repaired[0]).toBeCloseTo(aligned[0], 5);
    expect(repaired[4]).toBeCloseTo(aligned[4], 3);
  }, 120_000);
});
