import { describe, expect, it } from 'vitest';
import type { StudyCell } from '../../src/study/study-cell.js';
import { chunkStudyCells } from '../../src/study/study-cell-list.js';
import { cellOf } from './study-fixtures.js';

const model = (id: string) => ({
  id,
  sha256: id.repeat(64).slice(0, 64),
  family: 'mlp',
  arch: 'mlp-h8',
  depth: 2,
  data: 'bands',
  domain: 'bands',
  path: `/zoo/${id}.safetensors`,
});

/** `sizes[i]` cells for the i-th ordered pair, in study order. */
function cells(sizes: readonly number[]): StudyCell[] {
  return sizes.flatMap((n, i) =>
    Array.from({ length: n }, (_, j) =>
      cellOf(model(`b${i}`), model(`t${i}`), {
        baseLayers: [`l${j}`],
        targetLayers: [`l${j}`],
        evalData: 'fashion-mnist:test',
      }),
    ),
  );
}

describe('chunkStudyCells', () => {
  it('cuts the cells into runs of whole pairs of at most maxCells cells, covering each cell once', () => {
    const list = cells([4, 4, 4, 2, 6, 4]);
    const chunks = chunkStudyCells(list, 8);
    expect(chunks).toEqual([
      { start: 0, end: 8, pairs: 2 },
      { start: 8, end: 14, pairs: 2 },
      { start: 14, end: 20, pairs: 1 },
      { start: 20, end: 24, pairs: 1 },
    ]);
  });

  it('gives a pair with more cells than maxCells a chunk of its own', () => {
    expect(chunkStudyCells(cells([2, 10, 2]), 4)).toEqual([
      { start: 0, end: 2, pairs: 1 },
      { start: 2, end: 12, pairs: 1 },
      { start: 12, end: 14, pairs: 1 },
    ]);
    expect(chunkStudyCells([], 4)).toEqual([]);
  });
});
