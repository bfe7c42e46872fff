import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMal } from '../support/run-mal.js';

/*
 * A study of language models, end to end through `mal study` on the shipped transformer zoo: the curve starts at
 * the base's own loss on the same token sequences, which `mal eval` measures by its own path.
 */
const ZOO = resolve('zoo/transformers');
const BASE = 'base-gpt2-w64-h4-weak';
const TARGET = 'gpt2-w32-h2-l2-c64-i64-s3-fortunesen-n1600';

describe('mal study on GPT-2 models', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mal-transformer-study-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('measures aligned and naive curves on text, starting at the base loss mal eval gives', async () => {
    const study = join(dir, 'study.yaml');
    await writeFile(
      study,
      [
        'datasets:',
        '  - {name: en, train: "fortunes:en:train", eval: "fortunes:en:test"}',
        `zoo: {folder: ${JSON.stringify(ZOO)}, models: [${BASE}, ${TARGET}]}`,
        'positions: [first]',
        'alignment: [aligned, naive]',
        'evaluate: {limit: 4, batchSize: 4}',
        'grid: 0:0.5:1',
        `out: ${JSON.stringify(join(dir, 'out'))}`,
        '',
      ].join('\n'),
    );
    const run = await runMal(['study', study, '--threads', '1', '--backend', 'cpu']);
    expect(run.code, run.stderr).toBe(0);
    const csv = (await readFile(join(dir, 'out', 'study.csv'), 'utf8')).trim().split('\n');
    const header = csv[0].split(',');
    const rows = csv
      .slice(1)
      .map((line) => Object.fromEntries(line.split(',').map((v, i) => [header[i], v])));
    // Two ordered pairs, one position, aligned and naive.
    expect(rows).toHaveLength(4);
    const eval_ = await runMal([
      'eval',
      join(ZOO, 'models', BASE),
      '--data',
      'fortunes:en:test',
      '--limit',
      '4',
      '--backend',
      'cpu',
      '--json',
    ]);
    expect(eval_.code, eval_.stderr).toBe(0);
    const baseLoss = JSON.parse(eval_.stdout).loss as number;
    const asBase = rows.filter((r) => r.base === BASE);
    expect(asBase).toHaveLength(2);
    for (const row of asBase) {
      const losses = row.losses.split(';').map(Number);
      expect(losses).toHaveLength(3);
      expect(losses[0]).toBeCloseTo(baseLoss, 5);
      // A narrower target's first block moved in: the curve ends elsewhere.
      expect(Math.abs(losses[2] - baseLoss)).toBeGreaterThan(1e-3);
      expect(row.evalExamples).toBe('4');
    }
  });
});
