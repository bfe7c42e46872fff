/**
 * `npm run experiment:splits`: issue 10's experiment. Zoos trained on class-biased splits of Fashion-MNIST
 * (2-way and 3-way, two seeds each); a 784-128-128-10 base on part 1, MLPs of widths 64–512 on the other parts;
 * the default assembly (and the same with heal, when this checkout has it) judged on the full test set against
 * the calibrated base, the calibrated best zoo model and the logit ensemble, with paired-bootstrap intervals.
 *
 * Works in out/experiment-splits/ and keeps what is done: a rerun skips trained models and finished assemblies.
 * Environment: EXPERIMENT_EPOCHS (default 3), EXPERIMENT_VARIANTS=1 (also the four option variants),
 * EXPERIMENT_ONLY=2way-s1,3way-s2 (only those replicates, for debugging).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describeBackend, initBackend } from '../src/compute/backend.js';
import { MalError } from '../src/errors.js';
import { writeFileAtomic } from '../src/io/atomic-file.js';
import { type Availability, runAssembly, variantAvailability } from './experiment-splits/assembly-runs.js';
import {
  type AssemblyVariant,
  DEFAULT_ASSEMBLY,
  DEFAULT_EPOCHS,
  EXPERIMENT_FOLDER,
  HEAL_ASSEMBLY,
  OPTIONAL_VARIANTS,
  REPLICATE_SEEDS,
  ReplicateLayout,
  SETTINGS,
} from './experiment-splits/design.js';
import { malRunner } from './experiment-splits/mal-process.js';
import {
  type MeasuredRun,
  measureReplicate,
  type ReplicateResult,
  type ReplicateScores,
} from './experiment-splits/measure.js';
import { prepareSplit, trainModels } from './experiment-splits/prepare-zoos.js';
import { averageSetting, resultsMarkdown } from './experiment-splits/results-table.js';

/** An environment variable of the experiment has a value it cannot use. */
class ExperimentOptionError extends MalError {
  override readonly name = 'ExperimentOptionError';
}

const root = join(import.meta.dirname, '..');
const started = performance.now();
const progress = (line: string) => {
  const seconds = Math.round((performance.now() - started) / 1000);
  process.stderr.write(
    `[${String(Math.floor(seconds / 60)).padStart(2, '0')}:${String(seconds % 60).padStart(2, '0')}] ${line}\n`,
  );
};

function epochsFromEnv(): number {
  const text = process.env.EXPERIMENT_EPOCHS;
  if (text === undefined || text === '') return DEFAULT_EPOCHS;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1)
    throw new ExperimentOptionError(`EXPERIMENT_EPOCHS must be a positive integer, got '${text}'`);
  return value;
}

function replicatesFromEnv(): ReplicateLayout[] {
  const all = SETTINGS.flatMap((setting) =>
    REPLICATE_SEEDS.map((seed) => new ReplicateLayout(root, setting, seed)),
  );
  const only = process.env.EXPERIMENT_ONLY;
  if (only === undefined || only === '') return all;
  const names = only.split(',').map((s) => s.trim());
  const chosen = all.filter((l) => names.includes(`${l.setting.slug}-s${l.seed}`));
  const known = all.map((l) => `${l.setting.slug}-s${l.seed}`);
  const unknown = names.filter((n) => !known.includes(n));
  if (unknown.length > 0)
    throw new ExperimentOptionError(
      `EXPERIMENT_ONLY names unknown replicates ${unknown.join(', ')}; known: ${known.join(', ')}`,
    );
  return chosen;
}

async function main(): Promise<void> {
  const epochs = epochsFromEnv();
  const layouts = replicatesFromEnv();
  const withVariants = process.env.EXPERIMENT_VARIANTS === '1';
  const mal = malRunner(root);
  const backend = await initBackend();
  progress(
    `split experiment: ${layouts.length} replicates, ${epochs} epochs per model${withVariants ? ', with the option variants' : ''}; measuring on ${describeBackend(backend)}`,
  );
  let heal: Availability | undefined;
  const measured: { result: ReplicateResult; scores: ReplicateScores }[] = [];
  for (const [index, layout] of layouts.entries()) {
    progress(`— replicate ${index + 1}/${layouts.length}: ${layout.label}`);
    await mkdir(layout.folder, { recursive: true });
    await prepareSplit(layout, mal, progress);
    await trainModels(layout, epochs, mal, progress);
    // Asked once, of a real plan: the models must exist for `mal plan check` to pass.
    if (heal === undefined) {
      heal = await variantAvailability(layout, HEAL_ASSEMBLY, mal);
      progress(heal.available ? 'heal: available' : `heal: not available (${heal.reason})`);
    }
    const variants: AssemblyVariant[] = [
      DEFAULT_ASSEMBLY,
      ...(heal.available ? [HEAL_ASSEMBLY] : []),
      ...(withVariants ? OPTIONAL_VARIANTS : []),
    ];
    const runs: MeasuredRun[] = [];
    for (const variant of variants) {
      const folder = await runAssembly(layout, variant, mal, progress);
      runs.push({
        name: variant.name,
        label: variant.label,
        folder,
        modelFile: variant === HEAL_ASSEMBLY ? 'model-healed.safetensors' : 'model.safetensors',
      });
    }
    progress(`${layout.label}: measuring on ${layout.folder}`);
    const outcome = await measureReplicate(
      layout,
      runs,
      heal.available ? undefined : heal.reason,
      layout.seed,
    );
    measured.push(outcome);
    if (outcome.result.lineageAgreement > 1e-9)
      progress(
        `warning: ${layout.label}: these accuracies differ from lineage.json's baselines by up to ${(100 * outcome.result.lineageAgreement).toFixed(3)} pp`,
      );
  }
  const averages = SETTINGS.map((setting) => measured.filter((m) => m.result.setting === setting.name))
    .filter((group) => group.length > 0)
    .map((group) => averageSetting(group, 0));
  const markdown = resultsMarkdown({
    epochs,
    replicates: measured.map((m) => m.result),
    averages,
    ...(heal?.available === false ? { healUnavailable: heal.reason } : {}),
  });
  const folder = join(root, EXPERIMENT_FOLDER);
  await writeFileAtomic(join(folder, 'results.md'), markdown);
  await writeFileAtomic(
    join(folder, 'results.json'),
    `${JSON.stringify(
      {
        epochs,
        heal: heal ?? null,
        replicates: measured.map((m) => m.result),
        averages,
        seconds: Math.round((performance.now() - started) / 1000),
      },
      null,
      2,
    )}\n`,
  );
  process.stdout.write(`\n${markdown}`);
  progress(`wrote ${join(EXPERIMENT_FOLDER, 'results.md')} and results.json`);
}

try {
  await main();
} catch (error) {
  if (!(error instanceof MalError)) throw error;
  process.stderr.write(`experiment:splits: ${error.message}\n`);
  process.exitCode = 1;
}
