import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { root } from './mal-cli.js';

/**
 * A small plan on the shipped demo zoo (topK 3, 1000 examples scored raw, λ grid 0:0.25:1, 3 steps), for end-to-end
 * tests. `extra`: more plan lines (e.g. `calibrate: none`, which a test of a fixed point needs: a calibrated result
 * is another model, one the loop may improve again).
 */
export async function writeDemoPlan(dir: string, extra: readonly string[] = []): Promise<string> {
  const plan = join(dir, 'plan.yaml');
  await writeFile(
    plan,
    [
      `base: ${join(root, 'zoo/demo/models/base-mlp-h128x128-fmnist-weak.safetensors')}`,
      `zoo: ${join(root, 'zoo/demo')}`,
      'objective:',
      '  tasks:',
      '    - {data: fashion-mnist:val, metric: loss, weight: 1, limit: 1000, scoring: raw}',
      'candidates: {policy: same-depth, topK: 3, probeExamples: 128}',
      'merge: {grid: "0:0.25:1", lambdaMin: 0.1}',
      'steps: 3',
      ...extra,
      `output: ${join(dir, 'unused')}`,
      '',
    ].join('\n'),
  );
  return plan;
}

/**
 * A one-step plan on the shipped transformer zoo's under-trained GPT-2 base (16 English fortunes scored raw, topK 2,
 * λ grid 0:0.5:1), written as `gpt2.yaml` in `dir`. Successive halving probes on the first 4 and 8 sequences, so the
 * token batch is read in ranges, not only whole. `extra`: more plan lines.
 */
export async function writeGpt2Plan(dir: string, extra: readonly string[] = []): Promise<string> {
  const plan = join(dir, 'gpt2.yaml');
  await writeFile(
    plan,
    [
      `base: ${join(root, 'zoo/transformers/models/base-gpt2-w64-h4-weak')}`,
      `zoo: ${join(root, 'zoo/transformers')}`,
      'objective:',
      '  tasks:',
      '    - {data: fortunes:en:test, metric: loss, weight: 1, limit: 16, scoring: raw}',
      'calibrate: none',
      'candidates: {policy: same-depth, topK: 2, halving: {examples: 4}}',
      'merge: {grid: "0:0.5:1", lambdaMin: 0.25}',
      'steps: 1',
      'seed: 0',
      ...extra,
      `output: ${join(dir, 'gpt2-out')}`,
      '',
    ].join('\n'),
  );
  return plan;
}
