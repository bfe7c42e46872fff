/**
 * Calibration is checked against what it promises, computed here independently in float64: the optimum's KKT
 * conditions (for biases, predicted class frequencies equal label frequencies; with a temperature, also zero
 * derivative in 1/T), a long plain gradient descent reaching the same parameters, and a model with the
 * calibration folded into its output layer giving the calibrated logits.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/compute/backend.js';
import type { Dataset } from '../../src/data/dataset.js';
import {
  type Calibration,
  CalibrationError,
  calibrateLogits,
  fitCalibration,
  type LogitsTable,
} from '../../src/eval/calibration.js';
import { applyCalibrationToModel } from '../../src/eval/calibration-fold.js';
import { evaluateLogits, meanLogits } from '../../src/eval/logits-evaluation.js';
import { modelLogits } from '../../src/eval/model-logits.js';
import { SeededRandom } from '../../src/random/seeded-random.js';
import { makeMlp, makeResNet, makeVggCnn } from '../support/model-factory.js';
import { specOfTensors } from '../support/model-in-memory.js';

/** Logits of a miscalibrated classifier: informative, too confident, with a skewed class prior. */
function problem(count: number, classes: number, seed: number): { table: LogitsTable; labels: Int32Array } {
  const random = new SeededRandom(seed);
  const logits = new Float32Array(count * classes);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const label = random.next() < 0.5 ? 0 : random.int(classes);
    labels[i] = label;
    for (let c = 0; c < classes; c++)
      logits[i * classes + c] = 2.5 * random.normal() + (c === label ? 3 : 0) + (c === classes - 1 ? 1.5 : 0);
  }
  return { table: { logits, classes }, labels };
}

/** Softmax probabilities of x/T + d, float64. */
function probabilities(table: LogitsTable, calibration: Calibration): Float64Array[] {
  const { logits, classes } = table;
  const rows: Float64Array[] = [];
  for (let i = 0; i < logits.length / classes; i++) {
    const z = Array.from(
      { length: classes },
      (_, c) => logits[i * classes + c] / calibration.temperature + calibration.biases[c],
    );
    const max = Math.max(...z);
    const e = z.map((v) => Math.exp(v - max));
    const s = e.reduce((a, b) => a + b, 0);
    rows.push(Float64Array.from(e, (v) => v / s));
  }
  return rows;
}

/** Plain gradient descent on (d, u = 1/T), fixed step, many iterations: slow but independent of Newton. */
function gradientDescent(table: LogitsTable, labels: Int32Array, withTemperature: boolean): Calibration {
  const { logits, classes } = table;
  const n = labels.length;
  const d = new Float64Array(classes);
  const p = new Float64Array(classes);
  let u = 1;
  for (let iteration = 0; iteration < 6000; iteration++) {
    const gd = new Float64Array(classes);
    let gu = 0;
    for (let i = 0; i < n; i++) {
      let max = Number.NEGATIVE_INFINITY;
      for (let c = 0; c < classes; c++) {
        p[c] = u * logits[i * classes + c] + d[c];
        max = Math.max(max, p[c]);
      }
      let sum = 0;
      for (let c = 0; c < classes; c++) {
        p[c] = Math.exp(p[c] - max);
        sum += p[c];
      }
      for (let c = 0; c < classes; c++) {
        const r = p[c] / sum - (c === labels[i] ? 1 : 0);
        gd[c] += r / n;
        gu += (r * logits[i * classes + c]) / n;
      }
    }
    for (let c = 0; c < classes; c++) d[c] -= 1.5 * gd[c];
    if (withTemperature) u -= 0.01 * gu;
  }
  const mean = d.reduce((a, b) => a + b, 0) / classes;
  return {
    kind: withTemperature ? 'temperature-biases' : 'biases',
    temperature: 1 / u,
    biases: [...d].map((v) => v - mean),
  };
}

describe('fitCalibration', () => {
  const { table, labels } = problem(300, 4, 7);

  it('biases: predicted class frequencies equal label frequencies, and gradient descent agrees', () => {
    const fit = fitCalibration(table, labels, 'biases');
    expect(fit.temperature).toBe(1);
    expect(Math.abs(fit.biases.reduce((a, b) => a + b, 0))).toBeLessThan(1e-12);
    const p = probabilities(table, fit);
    for (let c = 0; c < 4; c++) {
      const predicted = p.reduce((s, row) => s + row[c], 0) / labels.length;
      const observed = labels.filter((l) => l === c).length / labels.length;
      expect(Math.abs(predicted - observed)).toBeLessThan(1e-9);
    }
    const reference = gradientDescent(table, labels, false);
    fit.biases.forEach((b, c) => {
      expect(b).toBeCloseTo(reference.biases[c], 5);
    });
    expect(fit.lossAfter).toBeLessThan(fit.lossBefore);
    expect(fit.lossAfter).toBeCloseTo(
      evaluateLogits({ logits: calibrateLogits(table, fit), classes: 4 }, labels).loss,
      6,
    );
  });

  it('temperature-biases: the derivative in 1/T vanishes too, and gradient descent agrees', () => {
    const fit = fitCalibration(table, labels, 'temperature-biases');
    // The logits were made over-confident (noise of scale 2.5), so the fitted temperature is above 1.
    expect(fit.temperature).toBeGreaterThan(1);
    const p = probabilities(table, fit);
    let du = 0;
    for (let i = 0; i < labels.length; i++)
      for (let c = 0; c < 4; c++) du += (p[i][c] - (c === labels[i] ? 1 : 0)) * table.logits[i * 4 + c];
    expect(Math.abs(du / labels.length)).toBeLessThan(1e-9);
    const reference = gradientDescent(table, labels, true);
    expect(fit.temperature).toBeCloseTo(reference.temperature, 3);
    fit.biases.forEach((b, c) => {
      expect(b).toBeCloseTo(reference.biases[c], 3);
    });
    const biasesOnly = fitCalibration(table, labels, 'biases');
    expect(fit.lossAfter).toBeLessThanOrEqual(biasesOnly.lossAfter + 1e-12);
  });

  it('weights count an example as often as it is repeated, and the fit is deterministic', () => {
    const weights = Float64Array.from(labels, (_, i) => (i % 3 === 0 ? 2 : 1));
    const repeatedIndex = [...labels.keys()].flatMap((i) => (i % 3 === 0 ? [i, i] : [i]));
    const repeated: LogitsTable = {
      logits: Float32Array.from(repeatedIndex.flatMap((i) => [...table.logits.subarray(i * 4, i * 4 + 4)])),
      classes: 4,
    };
    const a = fitCalibration(table, labels, 'temperature-biases', { weights });
    const b = fitCalibration(
      repeated,
      Int32Array.from(repeatedIndex, (i) => labels[i]),
      'temperature-biases',
    );
    expect(a.temperature).toBeCloseTo(b.temperature, 8);
    a.biases.forEach((v, c) => {
      expect(v).toBeCloseTo(b.biases[c], 8);
    });
    expect(fitCalibration(table, labels, 'temperature-biases', { weights })).toEqual(a);
  });

  it('refuses labels outside the classes and non-finite logits, naming the example', () => {
    expect(() =>
      fitCalibration(
        table,
        Int32Array.from(labels, (l, i) => (i === 5 ? 9 : l)),
        'biases',
      ),
    ).toThrow(/example 5 has label 9/);
    const bad = Float32Array.from(table.logits);
    bad[13] = Number.NaN;
    expect(() => fitCalibration({ logits: bad, classes: 4 }, labels, 'biases')).toThrow(CalibrationError);
  });
});

describe('meanLogits', () => {
  it('is the element-wise mean', () => {
    const a = { logits: Float32Array.from([1, 2, 3, 4]), classes: 2 };
    const b = { logits: Float32Array.from([3, -2, 0, 8]), classes: 2 };
    expect([...meanLogits([a, b]).logits]).toEqual([2, 0, 1.5, 6]);
    expect(() => meanLogits([a, { logits: new Float32Array(6), classes: 3 }])).toThrow(/model 2/);
  });
});

describe('applyCalibrationToModel', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });

  const images = (count: number, shape: number[], seed: number): Dataset => {
    const random = new SeededRandom(seed);
    const size = shape.reduce((a, b) => a * b, 1);
    return {
      name: 'random',
      count,
      exampleShape: shape,
      features: random.normalArray(count * size, 1),
      labels: Int32Array.from({ length: count }, () => random.int(3)),
      classes: 3,
    };
  };
  const cases = [
    { family: 'mlp', model: makeMlp({ widths: [6, 5, 3], naming: 'layers', seed: 1 }), shape: [6] },
    {
      family: 'cnn',
      model: makeVggCnn({ inChannels: 1, channels: [4], imageSize: 4, hidden: [5], classes: 3, seed: 2 }),
      shape: [1, 4, 4],
    },
    {
      family: 'resnet',
      model: makeResNet({
        inChannels: 1,
        stemChannels: 4,
        stages: [{ channels: 4, blocks: 1, stride: 1 }],
        classes: 3,
        imageSize: 4,
        seed: 3,
      }),
      shape: [1, 4, 4],
    },
  ];
  for (const { family, model, shape } of cases) {
    it(`${family}: the folded model's logits are the calibrated logits`, async () => {
      const spec = specOfTensors(model.tensors);
      const data = images(20, shape, 4);
      const raw = await modelLogits(model.tensors, spec, data, model.config);
      const calibration: Calibration = {
        kind: 'temperature-biases',
        temperature: 1.7,
        biases: [0.4, -0.1, -0.3],
      };
      const folded = await modelLogits(
        applyCalibrationToModel(model.tensors, spec, calibration),
        spec,
        data,
        model.config,
      );
      const expected = calibrateLogits(raw, calibration);
      expect(folded.classes).toBe(3);
      folded.logits.forEach((v, i) => {
        expect(v).toBeCloseTo(expected[i], 4);
      });
    });
  }

  it('refuses an output layer without a bias', () => {
    const model = makeMlp({ widths: [4, 3], naming: 'layers', bias: false, seed: 1 });
    expect(() =>
      applyCalibrationToModel(model.tensors, specOfTensors(model.tensors), {
        kind: 'biases',
        temperature: 1,
        biases: [0, 0, 0],
      }),
    ).toThrow(/has no tensor 'layers.0.bias'/);
  });
});
