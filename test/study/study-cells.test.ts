import { describe, expect, it } from 'vitest';
import { studyCellAddress } from '../../src/study/study-cell-address.js';
import { expandStudyCells, positionTransplants } from '../../src/study/study-cells.js';
import { parseStudyFile } from '../../src/study/study-file.js';
import type { StudyUnit, StudyZooModel } from '../../src/study/study-zoo.js';

/** An MLP of `hidden` hidden layers as the study sees it: input layer, hidden-to-hidden layers, output layer. */
function mlp(id: string, hidden: number, data = 'fmnist', family = 'mlp'): StudyZooModel {
  const units: StudyUnit[] = Array.from({ length: hidden + 1 }, (_, i) => ({
    name: `layers.${i}`,
    kind: 'dense',
    ends: i === 0 ? (hidden === 0 ? 'whole' : 'input') : i === hidden ? 'output' : 'hidden',
  }));
  return {
    model: {
      id,
      sha256: id.padEnd(64, '0').slice(0, 64),
      family,
      arch: `${family}-h${hidden}`,
      depth: units.length,
      data,
      domain: data.startsWith('fmnist') ? 'fmnist' : data,
      path: `/zoo/${id}.safetensors`,
    },
    units,
  };
}

/** A CNN: two convolutions and a dense classifier. */
function cnn(id: string): StudyZooModel {
  const base = mlp(id, 0, 'fmnist', 'cnn');
  return {
    ...base,
    units: [
      { name: 'features.0', kind: 'conv', ends: 'input' },
      { name: 'features.3', kind: 'conv', ends: 'hidden' },
      { name: 'classifier', kind: 'dense', ends: 'output' },
    ],
  };
}

const STUDY = `
datasets:
  - {name: fmnist, train: fashion-mnist:train, eval: fashion-mnist:test}
  - {name: mnist, train: mnist:train, eval: mnist:test}
zoo: {folder: zoo}
`;

function study(extra = '') {
  return parseStudyFile(STUDY + extra, '/studies/s.yaml');
}

describe('expandStudyCells', () => {
  const models = [mlp('a1', 1), mlp('a2', 2), mlp('b2', 2, 'mnist'), mlp('b3', 3, 'mnist')];

  it('gives every ordered pair its positions and alignments, in a fixed order', () => {
    const { cells, pairs, excludedPairs } = expandStudyCells(study(), models, 'wasm');
    expect(pairs).toBe(12);
    expect(excludedPairs).toBe(0);
    // first and last for every pair, middle only where both models have a hidden-to-hidden layer: the 6 ordered
    // pairs among a2, b2, b3. Aligned and naive each.
    expect(cells.length).toBe((12 * 2 + 6) * 2);
    expect(cells.slice(0, 4).map((c) => [c.base.id, c.target.id, c.position, c.aligned])).toEqual([
      ['a1', 'a2', 'first', true],
      ['a1', 'a2', 'first', false],
      ['a1', 'a2', 'last', true],
      ['a1', 'a2', 'last', false],
    ]);
    expect(expandStudyCells(study(), models, 'wasm').cells.map(studyCellAddress)).toEqual(
      cells.map(studyCellAddress),
    );
  });

  it('takes the evaluation data from the base and pairs layers of the same ends at the nearest depth', () => {
    const { cells } = expandStudyCells(study('positions: [each]\nalignment: [aligned]\n'), models, 'wasm');
    const b3a2 = cells.filter((c) => c.base.id === 'b3' && c.target.id === 'a2');
    expect(b3a2.map((c) => [c.position, c.baseLayers[0], c.targetLayers[0]])).toEqual([
      ['layer-0', 'layers.0', 'layers.0'],
      ['layer-1', 'layers.1', 'layers.1'],
      ['layer-2', 'layers.2', 'layers.1'],
      ['layer-3', 'layers.3', 'layers.2'],
    ]);
    expect(b3a2.every((c) => c.evalData === 'mnist:test')).toBe(true);
    // a1 has no hidden-to-hidden layer: b3's middle layers find nothing in it.
    const b3a1 = cells.filter((c) => c.base.id === 'b3' && c.target.id === 'a1');
    expect(b3a1.map((c) => c.position)).toEqual(['layer-0', 'layer-3']);
  });

  it('transplants the whole model only between models of the same layer structure', () => {
    const { cells } = expandStudyCells(study('positions: [all]\nalignment: [naive]\n'), models, 'wasm');
    expect(cells.map((c) => `${c.base.id}←${c.target.id}`)).toEqual(['a2←b2', 'b2←a2']);
    expect(cells[0].baseLayers).toEqual(['layers.0', 'layers.1', 'layers.2']);
  });

  it('excludes pairs of other families up front and counts them', () => {
    const { cells, pairs, excludedPairs } = expandStudyCells(
      study(),
      [mlp('a1', 1), cnn('c1'), mlp('a2', 2)],
      'wasm',
    );
    expect(excludedPairs).toBe(4);
    expect(pairs).toBe(2);
    expect(cells.some((c) => c.base.id === 'c1' || c.target.id === 'c1')).toBe(false);
  });

  it('samples ordered pairs by seed: the same seed the same pairs, in study order', () => {
    const many = Array.from({ length: 6 }, (_, i) => mlp(`m${i}`, 1 + (i % 3)));
    const pairsOf = (yaml: string) => {
      const { cells, pairs } = expandStudyCells(study(yaml), many, 'wasm');
      return { pairs, keys: [...new Set(cells.map((c) => `${c.base.id}←${c.target.id}`))] };
    };
    const one = pairsOf('pairs: {sample: 7, seed: 3}\n');
    expect(one.pairs).toBe(7);
    expect(one.keys.length).toBe(7);
    expect(pairsOf('pairs: {sample: 7, seed: 3}\n')).toEqual(one);
    expect(pairsOf('pairs: {sample: 7, seed: 4}\n').keys).not.toEqual(one.keys);
    const all = pairsOf('').keys;
    expect(all.length).toBe(30);
    expect(one.keys).toEqual(all.filter((k) => one.keys.includes(k)));
    expect(pairsOf('pairs: {sample: 99, seed: 3}\n').keys).toEqual(all);
  });
});

describe('positionTransplants', () => {
  it('has no middle layer in a model of one or two layers', () => {
    const two = mlp('x', 1).units;
    expect(positionTransplants('middle', two, two)).toEqual([]);
    const three = mlp('y', 2).units;
    expect(positionTransplants('middle', three, three)).toEqual([
      { position: 'middle', baseLayers: ['layers.1'], targetLayers: ['layers.1'] },
    ]);
  });
});

describe('studyCellAddress', () => {
  const [cell] = expandStudyCells(study(), [mlp('a1', 1), mlp('a2', 2)], 'wasm').cells;

  it('ignores where the models lie', () => {
    const moved = {
      ...cell,
      base: { ...cell.base, path: '/elsewhere/a.safetensors', specPath: '/elsewhere/a.yaml' },
      target: { ...cell.target, path: '/elsewhere/b.safetensors' },
    };
    expect(studyCellAddress(moved)).toBe(studyCellAddress(cell));
  });

  it('changes with every measured input', () => {
    const variants = [
      { ...cell, base: { ...cell.base, sha256: 'f'.repeat(64) } },
      { ...cell, target: { ...cell.target, sha256: 'e'.repeat(64) } },
      { ...cell, baseLayers: ['layers.1'] },
      { ...cell, targetLayers: ['layers.2'] },
      { ...cell, aligned: !cell.aligned },
      { ...cell, alignment: { ...cell.alignment, maxSweeps: 3 } },
      { ...cell, seed: cell.seed + 1 },
      { ...cell, evalData: 'mnist:test' },
      { ...cell, evalLimit: cell.evalLimit + 1 },
      { ...cell, batchSize: cell.batchSize + 1 },
      { ...cell, grid: [0, 0.5, 1] },
      { ...cell, epsilonFraction: 0.02 },
      { ...cell, unmatched: 'keep' as const },
      { ...cell, position: 'layer-0' as const },
      { ...cell, backend: 'cpu' as const },
    ];
    const addresses = new Set([cell, ...variants].map(studyCellAddress));
    expect(addresses.size).toBe(variants.length + 1);
  });
});
