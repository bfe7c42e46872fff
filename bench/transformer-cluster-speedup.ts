/**
 * A GPT-2 assembly on the cluster (NATS + Temporal on this machine) with one task-worker process against two: the
 * shipped transformer zoo's under-trained base absorbing blocks from GPT-2s of other widths and head counts, judged
 * on English fortunes (the demo plan, `examples/transformer-plan.yaml`, for `steps` steps). Its tasks are heavier
 * than the 16-model MLP zoo's, so the same fixed costs weigh less. Each run is checked against the embedded
 * engine's bytes.
 *
 *   npm run build && npx tsx bench/transformer-cluster-speedup.ts [steps] [rounds]
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { compareWorkerCounts } from './cluster-speedup.js';

const root = join(import.meta.dirname, '..');

/** The demo plan with absolute paths and `steps` steps, written under out/bench (git-ignored). */
async function transformerPlan(steps: number): Promise<string> {
  const demo = await readFile(join(root, 'examples', 'transformer-plan.yaml'), 'utf8');
  const plan = demo
    .replace(/^base: \.\.\//m, `base: ${root}/`)
    .replace(/^zoo: \.\.\//m, `zoo: ${root}/`)
    .replace(/^steps: \d+$/m, `steps: ${steps}`)
    .replace(/^output: .*$/m, `output: ${join(root, 'out', 'bench', 'gpt2-run')}`);
  const expected = [`base: ${root}/`, `zoo: ${root}/`, `steps: ${steps}`, `output: ${join(root, 'out')}`];
  if (!expected.every((line) => plan.includes(line)))
    throw new Error(
      'examples/transformer-plan.yaml no longer has the base, zoo, steps and output lines expected',
    );
  const dir = join(root, 'out', 'bench');
  await mkdir(dir, { recursive: true });
  const file = join(dir, `gpt2-plan-${steps}.yaml`);
  await writeFile(file, plan);
  return file;
}

export async function main(steps = 2, rounds = 2): Promise<void> {
  await compareWorkerCounts(await transformerPlan(steps), `GPT-2 demo assembly, ${steps} step(s)`, rounds);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href)
  await main(Number(process.argv[2] ?? 2), Number(process.argv[3] ?? 2));
