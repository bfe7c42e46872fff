import { tableFromIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { decodeStudyRow, encodeStudyRow } from '../../src/study/study-results.js';
import type { StudyRow } from '../../src/study/study-row.js';
import { STUDY_COLUMNS, studyTableArrow, studyTableCsv } from '../../src/study/study-table.js';

function row(cell: string, loss: number): StudyRow {
  return {
    cell: cell.repeat(64),
    base: 'mlp-h64-fmnist-s1',
    target: 'mlp-h32,"odd"-mnist-s1',
    baseArch: 'mlp-h64',
    targetArch: 'mlp-h32',
    baseFamily: 'mlp',
    targetFamily: 'mlp',
    baseDepth: 2,
    targetDepth: 2,
    baseData: 'fmnist',
    targetData: 'mnist',
    relation: 'different',
    position: 'first',
    baseLayers: 'layers.0',
    targetLayers: 'layers.0',
    baseWidth: 64,
    targetWidth: 32,
    widthRatio: 0.5,
    aligned: true,
    evalData: 'fashion-mnist:test',
    evalExamples: 100,
    lambdas: [0, 0.5, 1],
    losses: [loss, 0.1 + 0.2, 1 / 3],
    accuracies: [0.9, 0.85, 0.7],
    meanLoss: (loss + 0.1 + 0.2 + 1 / 3) / 3,
    barrier: -0,
    threshold: 0.5,
    accuracyAtHalf: 0.85,
  };
}

describe('the study table', () => {
  const rows = [row('b', 0.25), row('a', Number.POSITIVE_INFINITY), row('c', 1e-300)];

  it('gives the same bytes for the same rows in any order', () => {
    const reversed = [...rows].reverse();
    expect(Buffer.compare(studyTableArrow(rows), studyTableArrow(reversed))).toBe(0);
    expect(studyTableCsv(rows)).toBe(studyTableCsv(reversed));
  });

  it('writes an Arrow file that reads back every value, sorted by cell, curves as lists', () => {
    const table = tableFromIPC(studyTableArrow(rows));
    expect(table.numRows).toBe(3);
    expect(table.schema.fields.map((f) => f.name)).toEqual(STUDY_COLUMNS.map(([name]) => name));
    expect(table.schema.metadata.size).toBe(0);
    const first = table.get(0)?.toJSON() as Record<string, unknown>;
    expect(first.cell).toBe('a'.repeat(64));
    expect([...(first.losses as Float64Array)]).toEqual([Number.POSITIVE_INFINITY, 0.1 + 0.2, 1 / 3]);
    expect(first.aligned).toBe(true);
    expect(first.target).toBe('mlp-h32,"odd"-mnist-s1');
    expect(first.baseDepth).toBe(2);
  });

  it('writes CSV whose numbers read back exactly and whose text fields are quoted where needed', () => {
    const lines = studyTableCsv(rows).trimEnd().split('\n');
    expect(lines[0]).toBe(STUDY_COLUMNS.map(([name]) => name).join(','));
    expect(lines[1]).toContain(',"mlp-h32,""odd""-mnist-s1",');
    expect(lines[1]).toContain(',Infinity;0.30000000000000004;0.3333333333333333,');
    const meanLoss = lines[3].split(',').at(-4);
    expect(Number(meanLoss)).toBe(rows[2].meanLoss);
    expect(lines[3]).toContain(',1e-300;');
  });
});

describe('a cell file', () => {
  it('keeps a row exactly, non-finite numbers included (−0 reads back as 0, as JSON has it)', () => {
    const r = row('d', Number.NaN);
    const back = decodeStudyRow(encodeStudyRow(r), r.cell);
    expect(back).toEqual({ ...r, barrier: 0 });
  });

  it('is not trusted when truncated, malformed or another cell', () => {
    const r = row('d', 0.5);
    const text = encodeStudyRow(r);
    expect(decodeStudyRow(text.slice(0, text.length - 20), r.cell)).toBeUndefined();
    expect(decodeStudyRow(text, 'e'.repeat(64))).toBeUndefined();
    expect(decodeStudyRow(text.replace('"losses":[0.5,', '"losses":['), r.cell)).toBeUndefined();
    expect(decodeStudyRow(text.replace('"aligned":true', '"aligned":"yes"'), r.cell)).toBeUndefined();
  });
});
