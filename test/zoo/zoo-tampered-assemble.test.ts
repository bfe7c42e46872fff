/**
 * `mal assemble` on a zoo one of whose models was replaced on disk after it was added: the run must not use it
 * under the manifest's hash. It is left out with the reason (lineage.skipped), and every hash the lineage
 * records for the zoo is the hash of the files that were used.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256File } from '../../src/zoo/model-hash.js';
import { root } from '../support/mal-cli.js';
import { runMal } from '../support/run-mal.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mal-zoo-tampered-'));
  await cp(join(root, 'zoo', 'demo'), join(dir, 'zoo'), { recursive: true });
  // Another model's bytes (other widths, still a readable MLP) where mlp-h128x128-s1-fmnist was.
  await cp(
    join(dir, 'zoo', 'models', 'mlp-h64x64-s1-fmnist.safetensors'),
    join(dir, 'zoo', 'models', 'mlp-h128x128-s1-fmnist.safetensors'),
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('mal assemble with a tampered zoo model', () => {
  it('skips it with the reason and records the hashes of what it used', async () => {
    const plan = join(dir, 'plan.yaml');
    await writeFile(
      plan,
      [
        `base: ${join(root, 'zoo/demo/models/base-mlp-h128x128-fmnist-weak.safetensors')}`,
        `zoo: {path: ${join(dir, 'zoo')}, include: [mlp-h64x64-s1-fmnist, mlp-h128x128-s1-fmnist, mlp-h256x256-s1-fmnist]}`,
        'objective:',
        '  tasks:',
        '    - {data: fashion-mnist:val, metric: loss, weight: 1, limit: 200}',
        'candidates: {policy: same-depth, topK: 1, probeExamples: 64}',
        'merge: {grid: "0:0.5:1", lambdaMin: 0.1}',
        'steps: 1',
        `output: ${join(dir, 'out')}`,
        '',
      ].join('\n'),
    );
    // Named in zoo.include, the tampered model is a plan error naming the field; left to the selection, it is skipped.
    const included = await runMal(['assemble', plan]);
    expect(included.stderr).toMatch(
      /zoo\.include\[1\]: zoo model 'mlp-h128x128-s1-fmnist' cannot be read: its files no longer match the zoo's hash/,
    );
    expect(included.code).toBe(1);
    await writeFile(
      plan,
      (await readFile(plan, 'utf8')).replace(
        /include: \[[^\]]*\]/,
        'exclude: [mlp-h128x128-s1-mnist, mlp-h256x256-s3-mnist, cnn-h8x16-d32-s1-fmnist-n12000, cnn-h16x32-d64-s1-fmnist-n12000, mlp-h256x256-s2-fmnist]',
      ),
    );
    const run = await runMal(['assemble', plan]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/skipped mlp-h128x128-s1-fmnist: its files no longer match the zoo's hash/);
    const lineage = JSON.parse(await readFile(join(dir, 'out', 'lineage.json'), 'utf8'));
    const skipped = lineage.skipped.find((s: { id: string }) => s.id === 'mlp-h128x128-s1-fmnist');
    expect(skipped?.reason).toMatch(/its files no longer match the zoo's hash/);
    const used = lineage.zoo as { id: string; sha256: string }[];
    expect(used.map((z) => z.id)).not.toContain('mlp-h128x128-s1-fmnist');
    expect(used.length).toBeGreaterThan(0);
    for (const z of used) {
      expect(z.sha256).toBe(await sha256File(join(dir, 'zoo', 'models', `${z.id}.safetensors`)));
    }
  }, 120_000);
});
