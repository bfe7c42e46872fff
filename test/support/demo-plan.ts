import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { root } from './mal-cli.js';

/** A small plan on the shipped demo zoo (topK 3, 1000 examples, λ grid 0:0.25:1, 3 steps), for end-to-end tests. */
export async function writeDemoPlan(dir: string): Promise<string> {
  const plan = join(dir, 'plan.yaml');
  await writeFile(
    plan,
    [
      `base: ${join(root, 'zoo/demo/models/base-mlp-h128x128-fmnist-weak.safetensors')}`,
      `zoo: ${join(root, 'zoo/demo')}`,
      'objective:',
      '  tasks:',
      '    - {data: fashion-mnist:val, metric: loss, weight: 1, limit: 1000}',
      'candidates: {policy: same-depth, topK: 3, probeExamples: 128}',
      'merge: {grid: "0:0.25:1", lambdaMin: 0.1}',
      'steps: 3',
      `output: ${join(dir, 'unused')}`,
      '',
    ].join('\n'),
  );
  return plan;
}
