import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transplantUnits } from '../../src/assembly/transplant-units.js';
import { initBackend } from '../../src/compute/backend.js';
import { loadDataset } from '../../src/data/load-dataset.js';
import { evaluateTensors } from '../../src/eval/model-evaluation.js';
import { SeededRandom } from '../../src/random/seeded-random.js';
import { runStudyCell } from '../../src/study/run-study-cell.js';
import type { StudyCellModel } from '../../src/study/study-cell.js';
import { createStudyResources, StudyModelChangedError } from '../../src/study/study-resources.js';
import type { FloatTensor } from '../../src/tensor/tensor.js';
import { trainModel } from '../../src/train/train-model.js';
import { randomFreePermutations, specOf, transformModel } from '../support/transform-model.js';
import { cellOf, scratch, writeBands, writeStudyModel } from './study-fixtures.js';

describe('runStudyCell', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let evalData: string;
  let base: StudyCellModel;
  let permuted: StudyCellModel;
  let baseTensors: Map<string, FloatTensor>;
  let config: Record<string, string | number>;
  let layers: string[];

  beforeAll(async () => {
    dir = await scratch();
    await initBackend('cpu');
    const train = await writeBands(join(dir.path, 'train.arrow'), 240, 1);
    evalData = await writeBands(join(dir.path, 'test.arrow'), 90, 2);
    const trained = await trainModel({
      architecture: 'mlp',
      hidden: [24, 16],
      dataset: await loadDataset(train, { layout: 'flat' }),
      epochs: 3,
      seed: 3,
    });
    baseTensors = trained.tensors;
    config = { ...trained.config };
    const spec = specOf(baseTensors, config);
    layers = transplantUnits(spec).map((u) => u.name);
    const info = { arch: 'mlp-h24x16', depth: layers.length };
    base = await writeStudyModel(
      join(dir.path, 'base.safetensors'),
      baseTensors,
      { id: 'base', ...info },
      config,
    );
    const permutedTensors = transformModel(
      spec,
      baseTensors,
      randomFreePermutations(spec, baseTensors, new SeededRandom(7)),
    );
    permuted = await writeStudyModel(
      join(dir.path, 'permuted.safetensors'),
      permutedTensors,
      { id: 'permuted', ...info },
      config,
    );
  }, 60_000);
  afterAll(async () => {
    await dir?.remove();
  });

  it("starts at the base's own evaluation and, aligned on a permuted copy, ends there with no barrier", async () => {
    const resources = createStudyResources({ backend: 'cpu' });
    const row = await runStudyCell(
      cellOf(base, permuted, { baseLayers: layers, targetLayers: layers, evalData }),
      resources,
    );
    const spec = specOf(baseTensors, config);
    const own = await evaluateTensors(
      baseTensors,
      spec,
      await loadDataset(evalData, { layout: 'flat', limit: 90 }),
      config,
      64,
    );
    expect(row.losses[0]).toBeCloseTo(own.loss, 6);
    expect(row.accuracies[0]).toBe(own.accuracy);
    expect(row.losses[row.losses.length - 1]).toBeCloseTo(own.loss, 4);
    expect(Math.abs(row.barrier)).toBeLessThan(1e-4);
    expect(row.threshold).toBe(1);
    expect(row.accuracyAtHalf).toBe(row.accuracies[2]);
    expect(row.evalExamples).toBe(90);
    expect(row.relation).toBe('same');
    expect(row.baseWidth).toBe(24 + 16);
    expect(row.widthRatio).toBe(1);
    expect(row.cell).toMatch(/^[0-9a-f]{64}$/);
  }, 60_000);

  it('naive interpolation of the permuted copy rises above the line', async () => {
    const resources = createStudyResources({ backend: 'cpu' });
    const cell = { baseLayers: layers, targetLayers: layers, evalData };
    const aligned = await runStudyCell(cellOf(base, permuted, cell), resources);
    const naive = await runStudyCell(cellOf(base, permuted, { ...cell, aligned: false }), resources);
    expect(naive.barrier).toBeGreaterThan(0.02);
    expect(naive.meanLoss).toBeGreaterThan(aligned.meanLoss + 0.02);
    expect(naive.cell).not.toBe(aligned.cell);
  }, 60_000);

  it("transplants one layer: the first layer of a permuted copy, aligned, leaves the base's function", async () => {
    const row = await runStudyCell(
      cellOf(base, permuted, {
        position: 'first',
        baseLayers: [layers[0]],
        targetLayers: [layers[0]],
        evalData,
      }),
      createStudyResources({ backend: 'cpu' }),
    );
    expect(row.losses[row.losses.length - 1]).toBeCloseTo(row.losses[0], 4);
    expect(row.baseWidth).toBe(24);
    expect(row.baseLayers).toBe(layers[0]);
  }, 60_000);

  it('refuses a model whose file no longer has the recorded sha256', async () => {
    const cell = cellOf(
      base,
      { ...permuted, sha256: '0'.repeat(64) },
      {
        baseLayers: layers,
        targetLayers: layers,
        evalData,
      },
    );
    await expect(runStudyCell(cell, createStudyResources({ backend: 'cpu' }))).rejects.toThrow(
      StudyModelChangedError,
    );
  });
});
