import { describe, expect, it } from 'vitest';
import { initBackend } from '../../src/compute/backend.js';
import type { Dataset } from '../../src/data/dataset.js';
import { createEvaluator, worthThreads } from '../../src/engine/evaluation-pool.js';
import { evaluateTensors } from '../../src/eval/model-evaluation.js';
import { SeededRandom } from '../../src/random/seeded-random.js';
import { deriveSpec } from '../../src/spec/derive-spec.js';
import { makeMlp } from '../support/model-factory.js';

describe('evaluation pool', () => {
  const random = new SeededRandom(4);
  const count = 300;
  const dataset: Dataset = {
    name: 'synthetic',
    count,
    exampleShape: [12],
    features: Float32Array.from({ length: count * 12 }, () => random.next()),
    labels: Int32Array.from({ length: count }, () => random.int(4)),
    classes: 4,
  };
  const models = [1, 2, 3].map((seed) => makeMlp({ widths: [12, 16, 4], naming: 'layers', seed }).tensors);
  const spec = deriveSpec(
    [...models[0]].map(([name, t]) => ({ name, dtype: 'F32' as const, shape: t.shape })),
  );

  it('gives the same numbers on worker threads as in this thread', async () => {
    const backend = await initBackend('cpu');
    const evaluateInProcess = (tensors: Parameters<typeof evaluateTensors>[0], data: Dataset) =>
      evaluateTensors(tensors, spec, data, {}, 100);
    const serial = await createEvaluator({
      threads: 1,
      parallel: 'auto',
      backend: backend.name,
      spec,
      config: {},
      batchSize: 100,
      evaluateInProcess,
    });
    const threaded = await createEvaluator({
      threads: 2,
      parallel: 'always',
      backend: backend.name,
      spec,
      config: {},
      batchSize: 100,
      evaluateInProcess,
    });
    try {
      const a = await serial.evaluateAll(models, dataset);
      const b = await threaded.evaluateAll(models, dataset);
      expect(threaded.threads).toBe(2);
      expect(b.map((e) => e.count)).toEqual([count, count, count]);
      for (let i = 0; i < models.length; i++) {
        expect(b[i].loss).toBeCloseTo(a[i].loss, 6);
        expect(b[i].accuracy).toBe(a[i].accuracy);
      }
      // The models differ, so equal numbers are not an accident of evaluating one model three times.
      expect(new Set(a.map((e) => e.loss.toFixed(6))).size).toBe(3);
    } finally {
      await serial.close();
      await threaded.close();
    }
  });

  it('uses threads only when the work outlasts starting them', () => {
    expect(worthThreads(0.05, 10, 2)).toBe(false);
    expect(worthThreads(2, 10, 2)).toBe(true);
    expect(worthThreads(2, 10, 1)).toBe(false);
  });
});
