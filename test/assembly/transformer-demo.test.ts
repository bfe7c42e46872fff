/**
 * A tiny version of `npm run demo:transformer`, end to end through `mal assemble`: the shipped GPT-2 base
 * absorbs blocks from zoo models of other widths and head counts, judged on held-out fortunes, and the lineage
 * holds the language-model baselines (base, best zoo model, probability ensemble, assembled) in the causal LM loss.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMal } from '../support/run-mal.js';

const root = join(import.meta.dirname, '..', '..');
const zoo = join(root, 'zoo', 'transformers');

describe('transformer assembly (tiny demo plan)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mal-transformer-demo-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const plan = (extra: string, output = 'out'): string =>
    [
      `base: ${join(zoo, 'models', 'base-gpt2-w64-h4-weak')}`,
      `zoo: {path: ${zoo}, include: [base-gpt2-w64-h4-weak, gpt2-w48-h2-l2-c64-i96-s2-fortunesen-n1600]}`,
      'objective:',
      '  tasks:',
      `    - {data: fortunes:en:test, metric: loss, weight: 1, limit: 4${extra.includes('scoring') ? '' : ', scoring: raw'}}`,
      extra.includes('calibrate') ? '' : 'calibrate: none',
      extra,
      'candidates: {policy: same-depth, topK: 1}',
      'merge: {grid: "0:0.5:1", lambdaMin: 0.5}',
      'steps: 1',
      'seed: 0',
      `output: ${join(dir, output)}`,
      '',
    ].join('\n');

  it('runs and writes the LM baselines, the ensemble no worse than its members on average', async () => {
    const file = join(dir, 'plan.yaml');
    await writeFile(file, plan(''));
    const run = await runMal(['assemble', file, '--backend', 'wasm']);
    expect(run.stderr).not.toMatch(/Error|at .*\.ts/);
    expect(run.code).toBe(0);
    const lineage = JSON.parse(await readFile(join(dir, 'out', 'lineage.json'), 'utf8'));
    const entries: { name: string; label: string; objective: { objective: number } }[] =
      lineage.baselines.entries;
    expect(entries.map((e) => e.name)).toEqual(['base', 'best-zoo', 'ensemble', 'assembled']);
    const loss = (name: string): number =>
      entries.find((e) => e.name === name)?.objective.objective ?? Number.NaN;
    for (const e of entries) expect(Number.isFinite(e.objective.objective)).toBe(true);
    // A mixture's loss is at most the mean of its members' (Jensen): here the base and the one zoo model.
    expect(loss('ensemble')).toBeLessThanOrEqual((loss('base') + loss('best-zoo')) / 2 + 1e-9);
    // The loop never accepts a step that worsens the objective.
    expect(loss('assembled')).toBeLessThanOrEqual(loss('base') + 1e-9);
  });

  it('refuses calibration for a language model, saying why', async () => {
    const file = join(dir, 'calibrated.yaml');
    await writeFile(file, plan('calibrate: biases'));
    const run = await runMal(['assemble', file, '--backend', 'wasm']);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('language model, which is not calibrated');
  });

  it('refuses calibrated scoring for a language model before writing anything', async () => {
    const file = join(dir, 'scored.yaml');
    await writeFile(file, plan('', 'refused').replace('scoring: raw', 'scoring: calibrated'));
    const run = await runMal(['assemble', file, '--backend', 'wasm']);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('objective.tasks[0].scoring');
    expect(run.stderr).not.toMatch(/at .*\.ts/);
    await expect(stat(join(dir, 'refused'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
