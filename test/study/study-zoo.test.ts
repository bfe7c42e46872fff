import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseStudyFile, StudyError } from '../../src/study/study-file.js';
import { resolveStudyZoo } from '../../src/study/study-zoo.js';
import { addModelToZoo, openZoo } from '../../src/zoo/zoo-folder.js';
import { writeMlpFile } from '../zoo/zoo-fixtures.js';
import { scratch, writeBands } from './study-fixtures.js';

describe('the zoo of a study', () => {
  let dir: { path: string; remove: () => Promise<void> };

  beforeAll(async () => {
    dir = await scratch();
    await writeBands(join(dir.path, 'train.arrow'), 120, 1);
    const zoo = await openZoo(join(dir.path, 'zoo'), { create: true });
    await addModelToZoo(zoo, await writeMlpFile(join(dir.path, 'wide.safetensors'), [64, 32, 32, 3], 1), {
      dataset: 'fashion-mnist:train',
    });
    await addModelToZoo(
      await openZoo(zoo.dir),
      await writeMlpFile(join(dir.path, 'narrow.safetensors'), [64, 8, 3], 2),
      {
        dataset: 'mnist:train',
      },
    );
  });
  afterAll(async () => {
    await dir?.remove();
  });

  const study = (zoo: string) =>
    parseStudyFile(
      `datasets:
  - {name: fmnist, train: fashion-mnist:train, eval: fashion-mnist:test}
  - {name: mnist, train: mnist:train, eval: mnist:test}
  - {name: bands, train: train.arrow, eval: train.arrow}
zoo: ${zoo}
`,
      join(dir.path, 'study.yaml'),
    );

  it("describes an existing zoo's models: data set by the manifest's source, arch label, layers and their ends", async () => {
    const models = await resolveStudyZoo(study('{folder: zoo}'), 'cpu');
    expect(
      models.map((m) => [m.model.id, m.model.arch, m.model.depth, m.model.data, m.model.domain]),
    ).toEqual([
      ['wide', 'mlp-h32x32', 3, 'fmnist', 'fmnist'],
      ['narrow', 'mlp-h8', 2, 'mnist', 'mnist'],
    ]);
    expect(models[0].units.map((u) => u.ends)).toEqual(['input', 'hidden', 'output']);
    expect(models[0].model.path).toBe(join(dir.path, 'zoo', 'models', 'wide.safetensors'));
    expect(
      (await resolveStudyZoo(study('{folder: zoo, models: [narrow]}'), 'cpu')).map((m) => m.model.id),
    ).toEqual(['narrow']);
  });

  it('refuses a model whose training data no data set names, and an unknown id', async () => {
    const one = parseStudyFile(
      `datasets: [{name: fmnist, train: fashion-mnist:train, eval: fashion-mnist:test}]
zoo: {folder: zoo}
`,
      join(dir.path, 'study.yaml'),
    );
    await expect(resolveStudyZoo(one, 'cpu')).rejects.toThrow(
      /zoo model 'narrow' was trained on 'mnist:train'/,
    );
    await expect(resolveStudyZoo(study('{folder: zoo, models: [nope]}'), 'cpu')).rejects.toThrow(StudyError);
  });

  it('refuses a model whose file no longer hashes to the sha256 the zoo recorded, before any cell reuses a row', async () => {
    const zoo = await openZoo(join(dir.path, 'zoo-changed'), { create: true });
    await addModelToZoo(zoo, await writeMlpFile(join(dir.path, 'changed.safetensors'), [64, 8, 3], 3), {
      dataset: 'mnist:train',
    });
    const file = join(zoo.dir, 'models', 'changed.safetensors');
    const bytes = await readFile(file);
    bytes[bytes.length - 1] ^= 1; // the last weight's low bits: still a readable model, other weights
    await writeFile(file, bytes);
    const changed = resolveStudyZoo(study('{folder: zoo-changed}'), 'cpu');
    await expect(changed).rejects.toThrow(StudyError);
    await expect(changed).rejects.toThrow(
      `${file}: model 'changed' no longer hashes to the sha256 the zoo recorded`,
    );
  });

  it('trains the grid once, keeps what is there, and refuses a model of its id trained otherwise', async () => {
    const grid = (epochs: number, seeds = '[1, 2]') =>
      study(
        `{folder: grid, train: {widths: [4], depths: [1], datasets: [bands], seeds: ${seeds}, epochs: ${epochs}}}`,
      );
    const lines: string[] = [];
    const first = await resolveStudyZoo(grid(1), 'cpu', { onProgress: (l) => lines.push(l) });
    expect(first.map((m) => m.model.id)).toEqual(['mlp-h4-bands-s1', 'mlp-h4-bands-s2']);
    expect(first[0].model.sha256).not.toBe(first[1].model.sha256);
    // A file without a manifest entry is a training killed before it was recorded: trained again.
    await writeFile(join(dir.path, 'grid', 'models', 'mlp-h4-bands-s3.safetensors'), 'partial');
    lines.length = 0;
    const again = await resolveStudyZoo(grid(1, '[1, 2, 3]'), 'cpu', { onProgress: (l) => lines.push(l) });
    expect([...new Set(lines.filter((l) => l.startsWith('training')).map((l) => l.split(' ')[1]))]).toEqual([
      'mlp-h4-bands-s3',
    ]);
    expect(again.slice(0, 2).map((m) => m.model.sha256)).toEqual(first.map((m) => m.model.sha256));
    expect(again[2].model.id).toBe('mlp-h4-bands-s3');
    await expect(resolveStudyZoo(grid(2), 'cpu')).rejects.toThrow(/trained with other options \(epochs\)/);
  }, 60_000);
});
