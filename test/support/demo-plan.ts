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
