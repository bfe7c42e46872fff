/**
 * `mal zoo train` end to end through the command object (main.ts registration is the lead's), on a tiny
 * synthetic Arrow data set: three classes of 8×8 single-channel images, each class a bright band in its own rows.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zooLsCommand, zooTrainCommand } from '../../src/cli/commands/zoo.js';
import type { Dataset } from '../../src/data/dataset.js';
import { writeDatasetArrow } from '../../src/data/dataset-arrow-writer.js';
import { SafetensorsReader } from '../../src/io/safetensors-reader.js';
import { SeededRandom } from '../../src/random/seeded-random.js';
import { toFloat32 } from '../../src/tensor/float-conversion.js';
import { sha256File } from '../../src/zoo/model-hash.js';
import { readZooManifest } from '../../src/zoo/zoo-manifest.js';
import { runCommand } from './run-command.js';
import { scratch } from './zoo-fixtures.js';

function bands(count: number, seed: number): Dataset {
  const random = new SeededRandom(seed);
  const features = new Float32Array(count * 64);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const label = i % 3;
    labels[i] = label;
    for (let p = 0; p < 64; p++) {
      const row = Math.floor(p / 8);
      const inBand = row >= label * 3 && row < label * 3 + 2;
      features[i * 64 + p] = Math.min(1, Math.max(0, (inBand ? 0.8 : 0.1) + 0.1 * random.normal()));
    }
  }
  return { name: 'bands', count, exampleShape: [1, 8, 8], features, labels, classes: 3 };
}

describe('mal zoo train', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let zoo: string;
  let train: string;
  let test: string;
  beforeAll(async () => {
    dir = await scratch();
    zoo = join(dir.path, 'zoo');
    train = join(dir.path, 'bands-train.arrow');
    test = join(dir.path, 'bands-test.arrow');
    await writeDatasetArrow(train, bands(300, 1));
    await writeDatasetArrow(test, bands(90, 2));
  });
  afterAll(async () => {
    await dir.remove();
  });

  it('trains an MLP, stores it as float16 with its description, and adds it to the manifest', async () => {
    const run = await runCommand(zooTrainCommand, [
      '--zoo',
      zoo,
      '--arch',
      'mlp',
      '--hidden',
      '16,8',
      '--data',
      train,
      '--eval',
      test,
      '--epochs',
      '3',
      '--seed',
      '4',
      '--batch-size',
      '30',
      '--lr',
      '0.01',
      '--dtype',
      'f16',
      '--backend',
      'cpu',
    ]);
    expect(run.err).toEqual([]);
    expect(run.code).toBe(0);
    expect(run.out).toHaveLength(1);
    expect(run.out[0]).toMatch(
      new RegExp(
        `^added mlp-h16x8-s4-bandstrain to ${zoo}: models/mlp-h16x8-s4-bandstrain\\.safetensors \\(`,
      ),
    );
    // Progress goes to the progress channel only (drawn on a terminal, dropped otherwise).
    expect(run.progress.some((line) => /^epoch 3\/3 \[#+\] loss/.test(line))).toBe(true);
    expect(run.progress.some((line) => /^epoch 1\/3 \[[#.]+\] \d+\/30 batches$/.test(line))).toBe(true);

    const [entry] = (await readZooManifest(zoo)).models;
    expect(entry).toMatchObject({
      id: 'mlp-h16x8-s4-bandstrain',
      path: 'models/mlp-h16x8-s4-bandstrain.safetensors',
      dataset: train,
      classes: [0, 1, 2],
      seed: 4,
      readable: true,
      family: 'mlp',
      widths: { input: 64, 'layers.0': 16, 'layers.1': 8, output: 3 },
      provenance: {
        kind: 'trained',
        command: 'mal zoo train',
        options: {
          arch: 'mlp',
          hidden: [16, 8],
          data: train,
          epochs: 3,
          seed: 4,
          eval: [test],
          dtype: 'f16',
          'batch-size': 30,
          lr: 0.01,
        },
      },
    });
    const file = join(zoo, entry.path);
    expect(entry.sha256).toBe(await sha256File(file));
    const metric = entry.metrics[test];
    expect(metric.examples).toBe(90);
    // Three well-separated bands: a few epochs are plenty.
    expect(metric.accuracy).toBeGreaterThan(0.9);

    const reader = await SafetensorsReader.open(file);
    try {
      expect(reader.tensorNames().map((n) => reader.info(n).dtype)).toEqual([
        'F16',
        'F16',
        'F16',
        'F16',
        'F16',
        'F16',
      ]);
      expect(reader.metadata).toMatchObject({
        zoo_id: entry.id,
        architecture: 'mlp',
        dataset: train,
        classes: '0,1,2',
        seed: '4',
      });
      expect(JSON.parse(reader.metadata.widths)).toEqual(entry.readable ? entry.widths : {});
      expect(JSON.parse(reader.metadata.metrics)).toEqual(entry.metrics);
    } finally {
      await reader.close();
    }

    const ls = await runCommand(zooLsCommand, ['--zoo', zoo]);
    expect(ls.out[1]).toContain(`mlp-h16x8-s4-bandstrain  mlp     64-16-8-3  ${train}`);
    expect(ls.out[1]).toContain(metric.accuracy.toFixed(4));
  });

  it("--init-from starts from a model's weights and records its hash; other widths are refused", async () => {
    const initial = join(zoo, 'models/mlp-h16x8-s4-bandstrain.safetensors');
    const initialHash = createHash('sha256')
      .update(await readFile(initial))
      .digest('hex');
    const common = ['--zoo', zoo, '--arch', 'mlp', '--data', train, '--eval', test, '--epochs', '1'];
    // A learning rate of 1e-9 barely moves the weights: the result must be the initial model, not seed 9's init.
    const run = await runCommand(zooTrainCommand, [
      ...common,
      '--hidden',
      '16,8',
      '--seed',
      '9',
      '--lr',
      '1e-9',
      '--init-from',
      initial,
      '--backend',
      'cpu',
    ]);
    expect(run.err).toEqual([]);
    expect(run.code).toBe(0);
    const id = `mlp-h16x8-s9-bandstrain-i${initialHash.slice(0, 8)}`;
    const entry = (await readZooManifest(zoo)).models.find((m) => m.id === id);
    expect(entry?.provenance).toMatchObject({
      options: { 'init-from': initial, 'init-from-sha256': initialHash, seed: 9 },
    });
    const before = await SafetensorsReader.open(initial);
    const after = await SafetensorsReader.open(join(zoo, entry?.path ?? ''));
    try {
      expect(after.metadata.init_from_sha256).toBe(initialHash);
      expect(after.tensorNames()).toEqual(before.tensorNames());
      for (const name of before.tensorNames()) {
        const a = toFloat32(await before.read(name));
        const b = toFloat32(await after.read(name));
        const largest = Math.max(...a.map((v, i) => Math.abs(v - b[i])));
        expect(largest, name).toBeLessThan(1e-5);
      }
    } finally {
      await before.close();
      await after.close();
    }

    const models = (await readZooManifest(zoo)).models.length;
    const wrong = await runCommand(zooTrainCommand, [
      ...common,
      '--hidden',
      '16,9',
      '--seed',
      '9',
      '--init-from',
      initial,
      '--backend',
      'cpu',
    ]);
    expect(wrong.code).toBe(1);
    expect(wrong.err.join('\n')).toContain(
      `${initial}: tensor 'layers.1.weight' has shape [8, 16], but the architecture and widths given need [9, 16]`,
    );
    expect((await readZooManifest(zoo)).models).toHaveLength(models);
  });

  it('refuses a taken id before training', async () => {
    const before = await readFile(join(zoo, 'zoo.json'), 'utf8');
    const run = await runCommand(zooTrainCommand, [
      '--zoo',
      zoo,
      '--arch',
      'mlp',
      '--hidden',
      '16,8',
      '--data',
      train,
      '--eval',
      test,
      '--epochs',
      '1',
      '--seed',
      '4',
      '--backend',
      'cpu',
    ]);
    expect(run.code).toBe(1);
    expect(run.err.join('\n')).toContain("already has a model with id 'mlp-h16x8-s4-bandstrain'");
    expect(run.progress).toEqual([]);
    expect(await readFile(join(zoo, 'zoo.json'), 'utf8')).toBe(before);
  });

  it('trains a small CNN on a class subset, in float32, with no evaluation source', async () => {
    const run = await runCommand(zooTrainCommand, [
      '--zoo',
      zoo,
      '--arch',
      'cnn',
      '--hidden',
      '4',
      '--dense',
      '6',
      '--data',
      train,
      '--classes',
      '2,0',
      '--limit',
      '60',
      '--epochs',
      '1',
      '--seed',
      '1',
      '--id',
      'tiny-cnn',
      '--backend',
      'cpu',
    ]);
    expect(run.err).toEqual([]);
    expect(run.code).toBe(0);
    const entry = (await readZooManifest(zoo)).models.find((m) => m.id === 'tiny-cnn');
    expect(entry).toMatchObject({ readable: true, family: 'cnn', classes: [2, 0], metrics: {} });
    expect(entry?.provenance).toMatchObject({
      options: { limit: 60, classes: [2, 0], dtype: 'f32', eval: [] },
    });
    if (entry?.readable) expect(entry.widths.output).toBe(2);
  });

  it('refuses data it cannot read with exit 1 and leaves no zoo folder behind', async () => {
    const fresh = join(dir.path, 'never-made');
    for (const data of ['nosuch:train', join(dir.path, 'missing.arrow')]) {
      const refused = await runCommand(zooTrainCommand, [
        '--zoo',
        fresh,
        '--arch',
        'mlp',
        '--hidden',
        '4',
        '--data',
        data,
        '--epochs',
        '1',
        '--seed',
        '1',
      ]);
      expect(refused.code).toBe(1);
      expect(refused.err.join('\n')).toContain(
        data === 'nosuch:train' ? "unknown data source 'nosuch:train'" : 'missing.arrow',
      );
      await expect(stat(fresh)).rejects.toMatchObject({ code: 'ENOENT' });
    }
  });

  it('names missing and malformed options', async () => {
    const missing = await runCommand(zooTrainCommand, [
      '--zoo',
      zoo,
      '--arch',
      'mlp',
      '--data',
      train,
      '--epochs',
      '1',
      '--seed',
      '1',
    ]);
    expect(missing.code).toBe(2);
    expect(missing.err.join('\n')).toContain('--hidden is required');
    const bad = await runCommand(zooTrainCommand, [
      '--zoo',
      zoo,
      '--arch',
      'rnn',
      '--hidden',
      '4',
      '--data',
      train,
      '--epochs',
      '1',
      '--seed',
      '1',
    ]);
    expect(bad.err.join('\n')).toContain('--arch must be one of mlp, cnn');
    const list = await runCommand(zooTrainCommand, [
      '--zoo',
      zoo,
      '--arch',
      'mlp',
      '--hidden',
      '4,x',
      '--data',
      train,
      '--epochs',
      '1',
      '--seed',
      '1',
    ]);
    expect(list.err.join('\n')).toContain(
      "--hidden must be a comma-separated list of integers in [1, 65536], got '4,x'",
    );
  });
});
