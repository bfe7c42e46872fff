import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/compute/backend.js';
import {
  ActivationStatisticsError,
  layerStatistics,
  spaceCorrelations,
} from '../../src/eval/activation-statistics.js';
import type { FloatTensor } from '../../src/tensor/tensor.js';
import { makeMlp, makeResNet, randomVectors } from '../support/model-factory.js';
import { linear, relu } from '../support/reference-forward.js';
import { specOf } from '../support/transform-model.js';
import { unlabelledDataset } from '../support/unlabelled-dataset.js';

/** Plain float64 moments of column `u` of `rows`. */
function moments(rows: readonly Float64Array[], u: number): { mean: number; std: number } {
  let mean = 0;
  for (const r of rows) mean += r[u];
  mean /= rows.length;
  let variance = 0;
  for (const r of rows) variance += (r[u] - mean) ** 2;
  return { mean, std: Math.sqrt(variance / rows.length) };
}

function pearson(a: readonly Float64Array[], i: number, b: readonly Float64Array[], j: number): number {
  const x = moments(a, i);
  const y = moments(b, j);
  let cov = 0;
  for (let n = 0; n < a.length; n++) cov += (a[n][i] - x.mean) * (b[n][j] - y.mean);
  return cov / a.length / (x.std * y.std);
}

/** Hidden pre- and post-activations of an MLP with one hidden layer, in float64 from the float32 inputs. */
function hidden(tensors: Map<string, FloatTensor>, rows: readonly Float64Array[]) {
  const pre = rows.map((x) =>
    linear(Float64Array.from(Float32Array.from(x)), tensors.get('fc1.weight')!, tensors.get('fc1.bias')),
  );
  return { pre, post: pre.map(relu) };
}

describe('activation statistics', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });

  const base = makeMlp({ widths: [12, 9, 4], naming: 'fc', seed: 1 });
  const target = makeMlp({ widths: [12, 7, 4], naming: 'fc', seed: 2 });
  // Offset inputs give units a mean large against their spread: the streamed sums must not cancel.
  const rows = randomVectors(300, 12, 3).map((x) => x.map((v) => v + 3));
  const data = unlabelledDataset(rows);

  it('streams per-unit moments of pre- and post-activations that match a float64 reference', () => {
    const stats = layerStatistics({ spec: specOf(base.tensors, base.config), tensors: base.tensors }, data, {
      batchSize: 64,
    });
    expect([...stats.keys()]).toEqual(['fc1']);
    const reference = hidden(base.tensors, rows);
    const got = stats.get('fc1')!;
    expect(got.pre.count).toBe(300);
    for (let u = 0; u < 9; u++) {
      const pre = moments(reference.pre, u);
      const post = moments(reference.post, u);
      expect(got.pre.mean[u]).toBeCloseTo(pre.mean, 4);
      expect(got.pre.std[u]).toBeCloseTo(pre.std, 4);
      expect(got.post.mean[u]).toBeCloseTo(post.mean, 4);
      expect(got.post.std[u]).toBeCloseTo(post.std, 4);
    }
  });

  it('correlates the units of paired spaces of two models as Pearson over the examples', () => {
    const baseSpec = specOf(base.tensors, base.config);
    const space = baseSpec.layers[0].output!;
    const correlations = spaceCorrelations(
      { spec: baseSpec, tensors: base.tensors },
      { spec: specOf(target.tensors, target.config), tensors: target.tensors },
      [{ baseSpace: space, targetSpace: space }],
      data,
      { batchSize: 50 },
    );
    const c = correlations.get(space)!;
    expect([c.baseWidth, c.targetWidth]).toEqual([9, 7]);
    const a = hidden(base.tensors, rows).post;
    const b = hidden(target.tensors, rows).post;
    for (let i = 0; i < 9; i++) {
      for (let j = 0; j < 7; j++) {
        const expected = moments(a, i).std > 0 && moments(b, j).std > 0 ? pearson(a, i, b, j) : 0;
        expect(c.correlation[i * 7 + j]).toBeCloseTo(expected, 4);
      }
    }
  });

  it('uses only the first `examples` examples', () => {
    const model = { spec: specOf(base.tensors, base.config), tensors: base.tensors };
    const some = layerStatistics(model, data, { examples: 40, batchSize: 16 }).get('fc1')!;
    const reference = hidden(base.tensors, rows.slice(0, 40)).pre;
    expect(some.pre.count).toBe(40);
    expect(some.pre.mean[0]).toBeCloseTo(moments(reference, 0).mean, 4);
  });

  it('refuses ResNets with an error that says so', () => {
    const resnet = makeResNet({
      inChannels: 1,
      stemChannels: 4,
      stages: [{ channels: 4, blocks: 1, stride: 1 }],
      classes: 3,
      seed: 0,
    });
    expect(() =>
      layerStatistics({ spec: specOf(resnet.tensors, resnet.config), tensors: resnet.tensors }, data),
    ).toThrow(ActivationStatisticsError);
    expect(() =>
      layerStatistics({ spec: specOf(resnet.tensors, resnet.config), tensors: resnet.tensors }, data),
    ).toThrow(/not supported for resnet/);
  });
});
