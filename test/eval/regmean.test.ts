import { beforeAll, describe, expect, it } from 'vitest';
import { planAlignment, withTensors } from '../../src/align/alignment-problem.js';
import { weightMatching } from '../../src/align/weight-matching.js';
import { initBackend } from '../../src/compute/backend.js';
import type { Dataset } from '../../src/data/dataset.js';
import { DonorMix, type DonorWeight } from '../../src/eval/donor-mix.js';
import { InterpolationPath } from '../../src/eval/interpolation-path.js';
import { RegMeanError } from '../../src/eval/regmean.js';
import type { UnmatchedPolicy } from '../../src/merge/mal-interpolation.js';
import { InvalidMergeOptionError } from '../../src/merge/merge-options-error.js';
import { makeMlp, makeVggCnn, randomImages, randomVectors } from '../support/model-factory.js';
import { linear, relu } from '../support/reference-forward.js';
import { specOf, type TensorMap, widthsOf } from '../support/transform-model.js';
import { unlabelledDataset } from '../support/unlabelled-dataset.js';

async function pathsOf(base: TensorMap, target: TensorMap, data: Dataset, unmatched: UnmatchedPolicy) {
  const b = { spec: specOf(base, {}), tensors: base };
  const t = { spec: specOf(target, {}), tensors: target };
  const plan = planAlignment(
    { ...b, widths: widthsOf(b.spec, base) },
    { ...t, widths: widthsOf(t.spec, target) },
  );
  const problem = withTensors(plan, base, target);
  const { maps } = await weightMatching(problem);
  return {
    plain: new InterpolationPath(base, problem, maps, 'incompatible', unmatched),
    regmean: new InterpolationPath(base, problem, maps, 'incompatible', {
      choice: { method: 'mal', unmatched },
      regmean: { spec: b.spec, data },
    }),
  };
}

/** The inputs `[x, 1]` of layer fcK (K ≥ 2) of an MLP on the rows, in float64, computed without the code. */
function layerInputs(tensors: TensorMap, layer: number, rows: readonly Float64Array[]): Float64Array[] {
  let x: Float64Array[] = rows.map((r) => Float64Array.from(Float32Array.from(r)));
  for (let k = 1; k < layer; k++)
    x = x.map((v) => relu(linear(v, tensors.get(`fc${k}.weight`)!, tensors.get(`fc${k}.bias`))));
  return x.map((v) => Float64Array.from([...v, 1]));
}

/** Layer fcK as `[inputs + 1, outputs]`: the weight transposed, the bias as the last row. */
function augmented(tensors: TensorMap, layer: number): number[][] {
  const w = tensors.get(`fc${layer}.weight`)!;
  const b = tensors.get(`fc${layer}.bias`)!;
  const [outputs, inputs] = w.shape;
  return Array.from({ length: inputs + 1 }, (_, i) =>
    Array.from({ length: outputs }, (_, o) => (i < inputs ? w.data[o * inputs + i] : b.data[o])),
  );
}

/**
 * The gradient of Σᵢ wᵢ·‖Xᵢ·W − Xᵢ·Wᵢ‖² at W, relative to the size of Σᵢ wᵢ·XᵢᵀXᵢ·Wᵢ: zero (up to float32
 * rounding of the written weights) exactly when W solves RegMean's normal equations.
 */
function relativeGradient(
  merged: TensorMap,
  layer: number,
  terms: readonly { inputs: Float64Array[]; tensors: TensorMap; weight: number }[],
): number {
  const w = augmented(merged, layer);
  const size = w.length;
  const outputs = w[0].length;
  const gradient = Array.from({ length: size }, () => new Float64Array(outputs));
  const scale = Array.from({ length: size }, () => new Float64Array(outputs));
  for (const term of terms) {
    const own = augmented(term.tensors, layer);
    for (const x of term.inputs) {
      for (let o = 0; o < outputs; o++) {
        let residual = 0;
        let target = 0;
        for (let i = 0; i < size; i++) {
          residual += x[i] * (w[i][o] - own[i][o]);
          target += x[i] * own[i][o];
        }
        for (let i = 0; i < size; i++) {
          gradient[i][o] += term.weight * x[i] * residual;
          scale[i][o] += term.weight * x[i] * target;
        }
      }
    }
  }
  const norm = (m: Float64Array[]) =>
    Math.sqrt(m.reduce((s, row) => s + row.reduce((a, v) => a + v * v, 0), 0));
  return norm(gradient) / norm(scale);
}

/** Each tensor of the MLP layers fcK a donor merges, with the layer it belongs to. */
function layersOf(layers: readonly number[]): Map<string, string> {
  return new Map(
    layers.flatMap((k) => [
      [`fc${k}.weight`, `fc${k}`],
      [`fc${k}.bias`, `fc${k}`],
    ]),
  );
}

describe('RegMean', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });

  const rows = randomVectors(400, 10, 21);
  const data = unlabelledDataset(rows, [10]);

  it.each([
    ['narrower', 'zero', [10, 8, 7, 4]],
    ['narrower', 'keep', [10, 8, 7, 4]],
    ['wider', 'zero', [10, 16, 11, 4]],
  ] as const)(
    'solves the normal equations of every layer fed by merged layers (target %s, unmatched %s)',
    async (_, unmatched, widths) => {
      const base = makeMlp({ widths: [10, 12, 9, 4], naming: 'fc', seed: 31 }).tensors;
      const target = makeMlp({ widths: [...widths], naming: 'fc', seed: 32 }).tensors;
      const { plain, regmean } = await pathsOf(base, target, data, unmatched);
      const lambda = 0.4;
      const merged = regmean.at(lambda);
      const interpolated = plain.at(lambda);
      const end = plain.at(1);
      // The first layer reads the network's input, the same for both endpoints: RegMean is the interpolation there.
      expect(merged.get('fc1.weight')).toEqual(interpolated.get('fc1.weight'));
      expect(merged.get('fc1.bias')).toEqual(interpolated.get('fc1.bias'));
      for (const layer of [2, 3]) {
        const terms = [
          { inputs: layerInputs(base, layer, rows), tensors: base, weight: 1 - lambda },
          { inputs: layerInputs(end, layer, rows), tensors: end, weight: lambda },
        ];
        expect(relativeGradient(merged, layer, terms)).toBeLessThan(1e-5);
        // Plain interpolation does not solve them, so the check above can fail.
        expect(relativeGradient(interpolated, layer, terms)).toBeGreaterThan(1e-2);
      }
    },
  );

  it('leaves both endpoints of the path as they are', async () => {
    const base = makeMlp({ widths: [10, 12, 9, 4], naming: 'fc', seed: 33 }).tensors;
    const target = makeMlp({ widths: [10, 12, 9, 4], naming: 'fc', seed: 34 }).tensors;
    const { plain, regmean } = await pathsOf(base, target, data, 'zero');
    for (const lambda of [0, 1]) expect(regmean.at(lambda)).toEqual(plain.at(lambda));
  });

  it('merges a mix of two donors by the weights of each layer, the base weighing the rest', async () => {
    const base = makeMlp({ widths: [10, 12, 9, 4], naming: 'fc', seed: 35 }).tensors;
    const narrow = await pathsOf(
      base,
      makeMlp({ widths: [10, 8, 7, 4], naming: 'fc', seed: 36 }).tensors,
      data,
      'zero',
    );
    const wide = await pathsOf(
      base,
      makeMlp({ widths: [10, 16, 11, 4], naming: 'fc', seed: 37 }).tensors,
      data,
      'zero',
    );
    const tensorLayers = layersOf([1, 2, 3]);
    const weights: DonorWeight[] = [{ weight: 0.3 }, { weight: 0.25, layerWeights: { fc2: 0.45 } }];
    const mix = new DonorMix(base, [
      { path: narrow.regmean, tensorLayers },
      { path: wide.regmean, tensorLayers },
    ]).at(weights);
    const plainMix = new DonorMix(base, [
      { path: narrow.plain, tensorLayers },
      { path: wide.plain, tensorLayers },
    ]).at(weights);
    expect(mix.get('fc1.weight')).toEqual(plainMix.get('fc1.weight'));
    const ends = [narrow.plain.at(1), wide.plain.at(1)];
    for (const layer of [2, 3]) {
      const w1 = 0.3;
      const w2 = layer === 2 ? 0.45 : 0.25;
      const terms = [
        { inputs: layerInputs(base, layer, rows), tensors: base, weight: 1 - w1 - w2 },
        { inputs: layerInputs(ends[0], layer, rows), tensors: ends[0], weight: w1 },
        { inputs: layerInputs(ends[1], layer, rows), tensors: ends[1], weight: w2 },
      ];
      expect(relativeGradient(mix, layer, terms)).toBeLessThan(1e-5);
      expect(relativeGradient(plainMix, layer, terms)).toBeGreaterThan(1e-2);
    }
  });

  it('weighs a one-layer donor in a mix by the base inputs it reads', async () => {
    const base = makeMlp({ widths: [10, 12, 9, 4], naming: 'fc', seed: 40 }).tensors;
    const whole = await pathsOf(
      base,
      makeMlp({ widths: [10, 8, 7, 4], naming: 'fc', seed: 41 }).tensors,
      data,
      'zero',
    );
    // The second donor's candidate is its layer fc2 alone, into the base's fc2.
    const target = makeMlp({ widths: [10, 16, 11, 4], naming: 'fc', seed: 42 }).tensors;
    const spec = specOf(base, {});
    const targetSpec = specOf(target, {});
    const plan = planAlignment(
      { spec, widths: widthsOf(spec, base) },
      { spec: targetSpec, widths: widthsOf(targetSpec, target) },
      [
        ['fc2.weight', 'fc2.weight'],
        ['fc2.bias', 'fc2.bias'],
      ],
    );
    const problem = withTensors(plan, base, target);
    const { maps } = await weightMatching(problem);
    const lone = new InterpolationPath(base, problem, maps, 'incompatible', {
      choice: { method: 'mal', unmatched: 'zero' },
      regmean: { spec, data },
    });
    const all = layersOf([1, 2, 3]);
    const fc2 = layersOf([2]);
    const mix = new DonorMix(base, [
      { path: whole.regmean, tensorLayers: all },
      { path: lone, tensorLayers: fc2 },
    ]).at([{ weight: 0.3 }, { weight: 0.4 }]);
    const wholeEnd = whole.plain.at(1);
    const loneEnd = lone.at(1);
    const terms = [
      { inputs: layerInputs(base, 2, rows), tensors: base, weight: 0.3 },
      { inputs: layerInputs(wholeEnd, 2, rows), tensors: wholeEnd, weight: 0.3 },
      { inputs: layerInputs(loneEnd, 2, rows), tensors: loneEnd, weight: 0.4 },
    ];
    expect(relativeGradient(mix, 2, terms)).toBeLessThan(1e-5);
  });

  it('refuses a model of another family than MLP, by name', async () => {
    const make = (seed: number) =>
      makeVggCnn({ inChannels: 1, channels: [4, 6], imageSize: 8, hidden: [7], classes: 3, seed });
    const base = make(5);
    const target = make(6);
    const spec = specOf(base.tensors, base.config);
    const plan = planAlignment(
      { spec, widths: widthsOf(spec, base.tensors) },
      { spec: specOf(target.tensors, target.config), widths: widthsOf(spec, target.tensors) },
    );
    const problem = withTensors(plan, base.tensors, target.tensors);
    const { maps } = await weightMatching(problem);
    // Refused when the path is made, so not even its endpoints (which RegMean leaves alone) pass for merged by it.
    const pathOnCnn = () =>
      new InterpolationPath(base.tensors, problem, maps, 'incompatible', {
        choice: { method: 'mal', unmatched: 'zero' },
        regmean: { spec, config: base.config, data: unlabelledDataset(randomImages(16, 1, 8, 2), [1, 8, 8]) },
      });
    expect(pathOnCnn).toThrow(RegMeanError);
    expect(pathOnCnn).toThrow(/MLP models only, and this base is a 'cnn' model/);
  });

  it.each([1, 3, 40])(
    'solves a layer wider than its %i statistics example(s): the undetermined directions go to the interpolation',
    async (count) => {
      const base = makeMlp({ widths: [784, 512, 512, 10], naming: 'fc', seed: 43 }).tensors;
      const target = makeMlp({ widths: [784, 512, 512, 10], naming: 'fc', seed: 44 }).tensors;
      const few = unlabelledDataset(randomVectors(count, 784, 45), [784]);
      const { plain, regmean } = await pathsOf(base, target, few, 'zero');
      const merged = regmean.at(0.5);
      const interpolated = plain.at(0.5);
      for (const name of ['fc2.weight', 'fc3.weight']) {
        const got = merged.get(name)!.data;
        expect(got.every(Number.isFinite)).toBe(true);
        // Each example adds one direction the data determines; the rest stays near the interpolation.
        const moved = got.reduce(
          (n, v, i) => n + (Math.abs(v - interpolated.get(name)!.data[i]) > 1e-3 ? 1 : 0),
          0,
        );
        expect(moved).toBeGreaterThan(0);
      }
    },
  );

  it('refuses a merge method other than the straight line', async () => {
    const base = makeMlp({ widths: [10, 12, 9, 4], naming: 'fc', seed: 38 }).tensors;
    const target = makeMlp({ widths: [10, 12, 9, 4], naming: 'fc', seed: 39 }).tensors;
    const spec = specOf(base, {});
    const plan = planAlignment(
      { spec, widths: widthsOf(spec, base) },
      { spec, widths: widthsOf(spec, target) },
    );
    const problem = withTensors(plan, base, target);
    const { maps } = await weightMatching(problem);
    expect(
      () =>
        new InterpolationPath(base, problem, maps, 'incompatible', {
          choice: { method: 'slerp' },
          regmean: { spec, data },
        }),
    ).toThrow(InvalidMergeOptionError);
  });
});
