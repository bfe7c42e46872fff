/**
 * A 16-model zoo for the cluster benchmarks: Fashion-MNIST MLPs with two hidden layers of 64, 128 or 256 units,
 * each trained briefly (`mal zoo train`, a few thousand examples, one epoch) with its own seed, and a plan that
 * assembles the shipped demo zoo's weak base with it. Trained once into out/bench/zoo16 (git-ignored) and reused.
 * Needs the Fashion-MNIST files (MAL_DATA_DIR or Debian's package) and a build (`npm run build`).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const root = join(import.meta.dirname, '..');
const ZOO_MODELS = 16;

/** Widths and training sizes: three widths, so a step aligns layers of other widths too. */
function trainings(): { hidden: string; limit: number; seed: number }[] {
  const widths = ['64,64', '128,128', '256,256'];
  return Array.from({ length: ZOO_MODELS }, (_, i) => ({
    hidden: widths[i % widths.length],
    limit: 3000 + 500 * (i % 4),
    seed: 100 + i,
  }));
}

/** The zoo folder, trained on first use (about 4 s a model on 2 cores). */
export async function sixteenModelZoo(log: (line: string) => void = () => {}): Promise<string> {
  const zoo = join(root, 'out', 'bench', 'zoo16');
  const manifest = join(zoo, 'zoo.json');
  if (existsSync(manifest)) {
    const { models } = JSON.parse(await readFile(manifest, 'utf8')) as { models: unknown[] };
    if (models.length === ZOO_MODELS) return zoo;
    throw new Error(`${zoo} holds ${models.length} models, not ${ZOO_MODELS}: remove it to train it again`);
  }
  await mkdir(join(root, 'out', 'bench'), { recursive: true });
  for (const [i, t] of trainings().entries()) {
    log(`training zoo model ${i + 1}/${ZOO_MODELS} (mlp ${t.hidden}, ${t.limit} examples, seed ${t.seed})`);
    await promisify(execFile)(
      process.execPath,
      [
        join(root, 'bin', 'mal.js'),
        'zoo',
        'train',
        '--zoo',
        zoo,
        '--arch',
        'mlp',
        '--hidden',
        t.hidden,
        '--data',
        'fashion-mnist:train',
        '--limit',
        String(t.limit),
        '--epochs',
        '1',
        '--seed',
        String(t.seed),
        '--eval',
        'fashion-mnist:test',
        '--eval-limit',
        '1000',
        '--backend',
        'wasm',
      ],
      { cwd: root },
    );
  }
  return zoo;
}

/**
 * A plan over the 16-model zoo: the demo's weak base, the shipped validation subset as the objective, successive
 * halving (the default ranking) to the top 6, and `steps` steps.
 */
export async function sixteenModelPlan(steps: number, log?: (line: string) => void): Promise<string> {
  const zoo = await sixteenModelZoo(log);
  const plan = join(root, 'out', 'bench', `zoo16-plan-${steps}.yaml`);
  const base = join(root, 'zoo', 'demo', 'models', 'base-mlp-h128x128-fmnist-weak.safetensors');
  await writeFile(
    plan,
    [
      `base: ${base}`,
      `zoo: ${zoo}`,
      'objective:',
      '  tasks:',
      '    - {data: fashion-mnist:val, metric: loss, weight: 1}',
      'candidates: {policy: same-depth, topK: 6}',
      'merge: {grid: "0:0.1:1", lambdaMin: 0.1}',
      `steps: ${steps}`,
      'seed: 0',
      `output: ${join(root, 'out', 'bench', 'zoo16-run')}`,
      '',
    ].join('\n'),
  );
  return plan;
}
