/**
 * Scoring calibrated (a plan task's `scoring`): a zoo "donor" that differs from the base only in its output biases
 * (the base re-calibrated by `mal calibrate` on the objective data) improves the raw objective, so raw scoring
 * takes it; under calibrated scoring it adds nothing a bias re-fit could not, so no step accepts it.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireFashionMnist } from '../data/fashion-mnist-required.js';
import { root } from '../support/mal-cli.js';
import { runMal } from '../support/run-mal.js';

const weakBase = join(root, 'zoo', 'demo', 'models', 'base-mlp-h128x128-fmnist-weak.safetensors');
let dir: string;

beforeAll(async () => {
  requireFashionMnist();
  dir = await mkdtemp(join(tmpdir(), 'mal-scoring-'));
  const prior = join(dir, 'prior.safetensors');
  const calibrated = await runMal([
    'calibrate',
    weakBase,
    '--data',
    'fashion-mnist:val',
    '--limit',
    '600',
    '--out',
    prior,
  ]);
  expect(calibrated.code, calibrated.stderr).toBe(0);
  const added = await runMal(['zoo', 'add', prior, '--zoo', join(dir, 'zoo'), '--id', 'prior-only']);
  expect(added.code, added.stderr).toBe(0);
});
afterAll(async () => {
  if (!process.env.KEEP) await rm(dir, { recursive: true, force: true });
});

async function assemble(scoring: 'raw' | 'calibrated'): Promise<{ accepted: unknown[]; lineage: unknown }> {
  const plan = join(dir, `${scoring}.yaml`);
  await writeFile(
    plan,
    [
      `base: ${weakBase}`,
      'zoo: zoo',
      'objective:',
      `  tasks: [{data: fashion-mnist:val, metric: loss, limit: 600, scoring: ${scoring}}]`,
      'candidates: {policy: same-depth, topK: 2}',
      'steps: 1',
      'calibrate: none',
      `output: out-${scoring}`,
    ].join('\n'),
  );
  const run = await runMal(['assemble', plan, '--json']);
  expect(run.code, run.stderr).toBe(0);
  const { readFile } = await import('node:fs/promises');
  const lineage = JSON.parse(await readFile(join(dir, `out-${scoring}`, 'lineage.json'), 'utf8'));
  return { accepted: lineage.steps.filter((s: { accepted: unknown }) => s.accepted !== null), lineage };
}

describe('task scoring', () => {
  it('raw scoring accepts a donor that only shifts the output biases; calibrated scoring does not', async () => {
    const raw = await assemble('raw');
    expect(raw.accepted).toHaveLength(1);
    const calibrated = await assemble('calibrated');
    expect(calibrated.accepted).toHaveLength(0);
    // The calibrated objective of the base is already what the donor's biases give: the raw gain was the prior.
    const initial = (calibrated.lineage as { initial: { objective: number } }).initial.objective;
    const rawInitial = (raw.lineage as { initial: { objective: number } }).initial.objective;
    expect(initial).toBeLessThan(rawInitial);
  }, 120_000);
});
