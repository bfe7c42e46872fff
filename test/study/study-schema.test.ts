import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseStudyFile, StudyError } from '../../src/study/study-file.js';

const VALID = `datasets:
  - {name: fmnist, train: fashion-mnist:train, eval: fashion-mnist:test}
  - {name: part1, train: data/part-1.arrow, eval: fashion-mnist:test, domain: fmnist}
zoo:
  folder: ../zoo
  train: {widths: [32, 64], depths: [1, 2], datasets: [fmnist, part1]}
`;

function errorOf(text: string): string {
  try {
    parseStudyFile(text, '/studies/s.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(StudyError);
    return (error as Error).message;
  }
  throw new Error('expected the study to be refused');
}

describe('the study file', () => {
  it('fills in defaults and resolves paths against its folder', () => {
    const study = parseStudyFile(VALID, '/studies/s.yaml');
    expect(study.title).toBe('s');
    expect(study.zoo.folder).toBe('/zoo');
    expect(study.datasets[1].train).toBe('/studies/data/part-1.arrow');
    expect(study.datasets.map((d) => d.domain)).toEqual(['fmnist', 'fmnist']);
    expect(study.pairs).toBe('all');
    expect(study.positions).toEqual(['first', 'middle', 'last']);
    expect(study.alignment).toEqual(['aligned', 'naive']);
    expect(study.grid).toEqual([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]);
    expect(study.evaluate).toEqual({ limit: 1000, batchSize: 500 });
    expect(study.out).toBe('/studies/out/s');
    expect(study.zoo.train?.seeds).toEqual([1]);
  });

  it.each([
    [`${VALID}pairs: some\n`, 's.yaml:7: pairs:'],
    [VALID.replace('depths', 'depth'), "zoo.train.depth: unknown key 'depth'"],
    [`${VALID}positions: [first, top]\n`, 'positions[1]:'],
    [`${VALID}positions: [first, first]\n`, "positions[1]: 'first' is listed twice"],
    [`${VALID}grid: 0:0.3:1\n`, 'grid: λ grid'],
    [`${VALID}alignment: []\n`, 'alignment: must list at least one'],
    [
      VALID.replace('[fmnist, part1]}', '[fmnist, mnist]}'),
      "zoo.train.datasets[1]: 'mnist' is not a name of datasets",
    ],
    [VALID.replace('name: part1', 'name: fmnist'), "datasets[1].name: 'fmnist' is listed twice"],
    [`${VALID}pairs: {sample: 0}\n`, 'pairs.sample:'],
    [`${VALID}matching: {match: activations}\n`, 'matching.match: a study aligns by weights only'],
    [VALID.replace('eval: fashion-mnist:test}', 'eval: cifar:test}'), 'datasets[0].eval:'],
    [VALID.replace('  train: {', '  models: [x]\n  train: {'), 'zoo.models: with zoo.train'],
  ])('refuses %j naming the field', (text, expected) => {
    expect(errorOf(text)).toContain(expected);
  });
});

describe('examples/study.yaml', () => {
  it("is a valid study of at least 200 ordered pairs over the paper's positions, aligned and naive", async () => {
    const { loadStudyFile } = await import('../../src/study/study-file.js');
    const study = await loadStudyFile(join(import.meta.dirname, '..', '..', 'examples', 'study.yaml'));
    expect(study.pairs).toMatchObject({ sample: 400 });
    expect(study.positions).toEqual(['first', 'middle', 'last']);
    expect(study.alignment).toEqual(['aligned', 'naive']);
    expect(study.datasets.map((d) => d.name)).toEqual(['fmnist', 'mnist', 'fmnist-part1', 'fmnist-part2']);
    expect(study.out.endsWith(join('out', 'study'))).toBe(true);
  });
});
