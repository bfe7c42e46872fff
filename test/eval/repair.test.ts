import { beforeAll, describe, expect, it } from 'vitest';
import { activationMatching } from '../../src/align/activation-matching.js';
import { planAlignment, withTensors } from '../../src/align/alignment-problem.js';
import { initBackend } from '../../src/compute/backend.js';
import type { Dataset } from '../../src/data/dataset.js';
import { DonorMix, type DonorWeight } from '../../src/eval/donor-mix.js';
import { InterpolationPath } from '../../src/eval/interpolation-path.js';
import type { UnmatchedPolicy } from '../../src/merge/mal-interpolation.js';
import type { FloatTensor } from '../../src/tensor/tensor.js';
import { makeMlp, makeVggCnn, randomImages, randomVectors } from '../support/model-factory.js';
import {
  conv2d,
  linear,
  maxAbsDifference,
  mlpForward,
  relu,
  vggForward,
} from '../support/reference-forward.js';
import { specOf, type TensorMap, widthsOf } from '../support/transform-model.js';
import { unlabelledDataset } from '../support/unlabelled-dataset.js';

/** Float64 pre-activations of every hidden dense layer `fcK` of an MLP, computed independently of the code. */
function hiddenPre(tensors: ReadonlyMap<string, FloatTensor>, layers: number, rows: readonly Float64Array[]) {
  const out: Float64Array[][] = [];
  let x: Float64Array[] = rows.map((r) => Float64Array.from(Float32Array.from(r)));
  for (let k = 1; k < layers; k++) {
    const pre = x.map((v) => linear(v, tensors.get(`fc${k}.weight`)!, tensors.get(`fc${k}.bias`)));
    out.push(pre);
    x = pre.map(relu);
  }
  return out;
}

function unitMoments(rows: readonly Float64Array[], u: number): [mean: number, std: number] {
  const mean = rows.reduce((s, r) => s + r[u], 0) / rows.length;
  const variance = rows.reduce((s, r) => s + (r[u] - mean) ** 2, 0) / rows.length;
  return [mean, Math.sqrt(variance)];
}

function pathOf(
  base: TensorMap,
  target: TensorMap,
  config: Record<string, string | number>,
  data: Dataset,
  unmatched: UnmatchedPolicy,
) {
  const b = { spec: specOf(base, config), tensors: base, config };
  const t = { spec: specOf(target, config), tensors: target, config };
  const plan = planAlignment(
    { ...b, widths: widthsOf(b.spec, base) },
    { ...t, widths: widthsOf(t.spec, target) },
  );
  const { maps } = activationMatching(plan, b, t, { data });
  const problem = withTensors(plan, base, target);
  return {
    maps,
    plain: new InterpolationPath(base, problem, maps, 'incompatible', unmatched),
    repaired: new InterpolationPath(base, problem, maps, 'incompatible', {
      choice: { method: 'mal', unmatched },
      repair: { spec: b.spec, config, data },
    }),
  };
}

describe('REPAIR', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });

  const rows = randomVectors(300, 10, 7);
  const data = unlabelledDataset(rows, [10]);

  it.each(['zero', 'keep'] as const)(
    'gives every merged hidden unit the interpolated endpoint statistics (target narrower, unmatched %s)',
    (unmatched) => {
      const base = makeMlp({ widths: [10, 12, 9, 4], naming: 'fc', seed: 1 }).tensors;
      const target = makeMlp({ widths: [10, 8, 9, 4], naming: 'fc', seed: 2 }).tensors;
      const { plain, repaired, maps } = pathOf(base, target, {}, data, unmatched);
      const lambda = 0.4;
      const merged = repaired.at(lambda);
      const got = hiddenPre(merged, 3, rows);
      const atZero = hiddenPre(base, 3, rows);
      const atOne = hiddenPre(plain.at(1), 3, rows);
      const before = hiddenPre(plain.at(lambda), 3, rows);
      let collapsed = 0;
      for (const k of [0, 1]) {
        const space = specOf(base, {}).layers[k].output!;
        const map = maps.get(space)!.map;
        for (let u = 0; u < got[k][0].length; u++) {
          const [mb, sb] = unitMoments(atZero[k], u);
          const orphan = map[u] === -1;
          const [mt, st] = orphan ? (unmatched === 'zero' ? [0, 0] : [mb, sb]) : unitMoments(atOne[k], u);
          const [m, s] = unitMoments(got[k], u);
          expect(m).toBeCloseTo((1 - lambda) * mb + lambda * mt, 3);
          expect(s).toBeCloseTo((1 - lambda) * sb + lambda * st, 3);
          if (unitMoments(before[k], u)[1] < (1 - lambda) * sb + lambda * st - 1e-3) collapsed++;
        }
      }
      // The test means something only if plain interpolation did shrink some units' spread.
      expect(collapsed).toBeGreaterThan(0);
      // The output layer is not corrected.
      expect(merged.get('fc3.weight')).toEqual(plain.at(lambda).get('fc3.weight'));
      expect(merged.get('fc3.bias')).toEqual(plain.at(lambda).get('fc3.bias'));
    },
  );

  it('leaves both endpoints of an MLP path unchanged', () => {
    const base = makeMlp({ widths: [10, 12, 9, 4], naming: 'fc', seed: 3 }).tensors;
    const target = makeMlp({ widths: [10, 12, 9, 4], naming: 'fc', seed: 4 }).tensors;
    const { plain, repaired } = pathOf(base, target, {}, data, 'zero');
    for (const lambda of [0, 1]) {
      const a = mlpForward(plain.at(lambda), {}, rows);
      const b = mlpForward(repaired.at(lambda), {}, rows);
      expect(maxAbsDifference(a, b)).toBeLessThan(1e-4);
    }
  });

  it('resets the BatchNorm statistics of a CNN on the data and corrects its dense head', () => {
    const make = (seed: number) =>
      makeVggCnn({ inChannels: 1, channels: [4, 6], imageSize: 8, hidden: [7], classes: 3, seed });
    const base = make(5);
    const target = make(6);
    const images = randomImages(64, 1, 8, 2);
    const imageData = unlabelledDataset(images, [1, 8, 8]);
    const { plain, repaired } = pathOf(base.tensors, target.tensors, base.config, imageData, 'zero');
    const merged = repaired.at(0.5);
    // Running statistics of the first BatchNorm = the moments of the merged first conv's output on the data
    // (every example and position; the variance unbiased, as PyTorch keeps it).
    const values: number[][] = [[], [], [], []];
    for (const image of images) {
      const input = { channels: 1, height: 8, width: 8, data: Float64Array.from(Float32Array.from(image)) };
      const out = conv2d(input, merged.get('features.0.weight')!, merged.get('features.0.bias'), 1, 1);
      for (let c = 0; c < 4; c++) values[c].push(...out.data.subarray(c * 64, (c + 1) * 64));
    }
    for (let c = 0; c < 4; c++) {
      const n = values[c].length;
      const mean = values[c].reduce((a, b) => a + b, 0) / n;
      const variance = values[c].reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1);
      expect(merged.get('features.1.running_mean')!.data[c]).toBeCloseTo(mean, 4);
      expect(merged.get('features.1.running_var')!.data[c]).toBeCloseTo(variance, 4);
    }
    expect(merged.get('classifier.0.weight')).not.toEqual(plain.at(0.5).get('classifier.0.weight'));
    expect(merged.get('classifier.3.weight')).toEqual(plain.at(0.5).get('classifier.3.weight'));
    // The merged function at λ = 0.5 runs in the reference forward pass (eval BatchNorm, the reset statistics).
    expect(vggForward(merged, base.config, images).every((row) => row.every(Number.isFinite))).toBe(true);
  });
});

describe('REPAIR of a mix of several donors', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });

  const rows = randomVectors(300, 10, 8);
  const data = unlabelledDataset(rows, [10]);
  // Every tensor of the 3-layer MLP is merged, each belonging to its own layer.
  const tensorLayers = new Map(
    [1, 2, 3].flatMap((k) => [
      [`fc${k}.weight`, `fc${k}`],
      [`fc${k}.bias`, `fc${k}`],
    ]) as [string, string][],
  );

  it.each(['zero', 'keep'] as const)(
    'gives every merged hidden unit w₀·base + Σ wᵢ·donor i of the endpoint statistics (unmatched %s)',
    (unmatched) => {
      const base = makeMlp({ widths: [10, 12, 9, 4], naming: 'fc', seed: 11 }).tensors;
      // One donor narrower (some base units receive nothing), one wider, in the hidden spaces.
      const narrow = pathOf(
        base,
        makeMlp({ widths: [10, 8, 7, 4], naming: 'fc', seed: 12 }).tensors,
        {},
        data,
        unmatched,
      );
      const wide = pathOf(
        base,
        makeMlp({ widths: [10, 16, 11, 4], naming: 'fc', seed: 13 }).tensors,
        {},
        data,
        unmatched,
      );
      const weights: DonorWeight[] = [{ weight: 0.3 }, { weight: 0.25, layerWeights: { fc2: 0.45 } }];
      const weightOf = (donor: number, layer: string) =>
        weights[donor].layerWeights?.[layer] ?? weights[donor].weight;
      const repaired = new DonorMix(base, [
        { path: narrow.repaired, tensorLayers },
        { path: wide.repaired, tensorLayers },
      ]).at(weights);
      const plainMix = new DonorMix(base, [
        { path: narrow.plain, tensorLayers },
        { path: wide.plain, tensorLayers },
      ]).at(weights);

      const got = hiddenPre(repaired, 3, rows);
      const atBase = hiddenPre(base, 3, rows);
      const ends = [hiddenPre(narrow.plain.at(1), 3, rows), hiddenPre(wide.plain.at(1), 3, rows)];
      const before = hiddenPre(plainMix, 3, rows);
      let orphans = 0;
      let collapsed = 0;
      for (const k of [0, 1]) {
        const layer = `fc${k + 1}`;
        const space = specOf(base, {}).layers[k].output!;
        const maps = [narrow.maps.get(space)!.map, wide.maps.get(space)!.map];
        const w = [weightOf(0, layer), weightOf(1, layer)];
        const w0 = 1 - w[0] - w[1];
        for (let u = 0; u < got[k][0].length; u++) {
          const [mb, sb] = unitMoments(atBase[k], u);
          let goalMean = w0 * mb;
          let goalStd = w0 * sb;
          for (const d of [0, 1]) {
            const orphan = maps[d][u] === -1;
            if (orphan) orphans++;
            const [mt, st] = orphan ? (unmatched === 'zero' ? [0, 0] : [mb, sb]) : unitMoments(ends[d][k], u);
            goalMean += w[d] * mt;
            goalStd += w[d] * st;
          }
          const [m, s] = unitMoments(got[k], u);
          expect(m).toBeCloseTo(goalMean, 3);
          expect(s).toBeCloseTo(goalStd, 3);
          if (unitMoments(before[k], u)[1] < goalStd - 1e-3) collapsed++;
        }
      }
      // The cases the test is about did occur: base units the narrow donor left unmatched, and spreads the plain
      // mix shrank.
      expect(orphans).toBeGreaterThan(0);
      expect(collapsed).toBeGreaterThan(0);
      // The output layer is mixed but never corrected.
      expect(repaired.get('fc3.weight')).toEqual(plainMix.get('fc3.weight'));
      expect(repaired.get('fc3.bias')).toEqual(plainMix.get('fc3.bias'));
    },
  );

  it('gives one donor exactly its REPAIRed path', () => {
    const base = makeMlp({ widths: [10, 12, 9, 4], naming: 'fc', seed: 14 }).tensors;
    const donor = pathOf(
      base,
      makeMlp({ widths: [10, 8, 9, 4], naming: 'fc', seed: 15 }).tensors,
      {},
      data,
      'zero',
    );
    const mix = new DonorMix(base, [{ path: donor.repaired, tensorLayers }]);
    expect(mix.at([{ weight: 0.35 }])).toEqual(donor.repaired.at(0.35));
  });
});
