/**
 * The experiment's tables: one row per (setting, seed) and one per setting averaged over its seeds, as markdown
 * ready for the README. Averages are plain means of the replicates' accuracies; the averaged intervals come from
 * one paired bootstrap over all the replicates' test examples together (equal sizes, so its mean difference is
 * the mean of theirs).
 */
import { type BootstrapInterval, pairedBootstrap } from '../../src/eval/paired-bootstrap.js';
import type { ReplicateResult, ReplicateScores, RunResult, StepTimes } from './measure.js';
import { concatenate, gapClosed } from './scores.js';

export interface SettingAverage {
  readonly setting: string;
  readonly seeds: readonly number[];
  readonly references: {
    readonly base: number;
    readonly baseCalibrated: number;
    readonly bestZoo: number;
    readonly bestZooCalibrated: number;
    readonly ensemble: number;
    readonly ensembleCalibrated: number;
    readonly pairEnsembleCalibrated: number;
  };
  readonly runs: readonly RunResult[];
}

export function averageSetting(
  replicates: readonly { readonly result: ReplicateResult; readonly scores: ReplicateScores }[],
  bootstrapSeed: number,
): SettingAverage {
  const results = replicates.map((r) => r.result);
  const mean = (f: (r: ReplicateResult) => number) => results.reduce((s, r) => s + f(r), 0) / results.length;
  const references = {
    base: mean((r) => r.references.base),
    baseCalibrated: mean((r) => r.references.baseCalibrated),
    bestZoo: mean((r) => r.references.bestZoo.accuracy),
    bestZooCalibrated: mean((r) => r.references.bestZooCalibrated.accuracy),
    ensemble: mean((r) => r.references.ensemble),
    ensembleCalibrated: mean((r) => r.references.ensembleCalibrated),
    pairEnsembleCalibrated: mean((r) => r.references.pairEnsembleCalibrated),
  };
  const bestSingle = Math.max(references.baseCalibrated, references.bestZooCalibrated);
  const baseCalibrated = concatenate(replicates.map((r) => r.scores.baseCalibrated));
  const bestZooCalibrated = concatenate(replicates.map((r) => r.scores.bestZooCalibrated));
  // A run is averaged only where every replicate has it (heal may be missing everywhere).
  const runs: RunResult[] = [];
  for (const first of results[0].runs) {
    const all = replicates.map((r) => r.scores.runs.get(first.name));
    if (all.some((s) => s === undefined)) continue;
    const scores = concatenate(all as Uint8Array[]);
    const accuracy = mean((r) => r.runs.find((x) => x.name === first.name)?.accuracy ?? 0);
    const times = results.map((r) => r.runs.find((x) => x.name === first.name)?.stepTimes as StepTimes);
    const totalSteps = times.reduce((s, t) => s + t.steps, 0);
    const totalSeconds = times.reduce((s, t) => s + t.totalSeconds, 0);
    runs.push({
      name: first.name,
      label: first.label,
      accuracy,
      vsBaseCalibrated: pairedBootstrap(scores, baseCalibrated, { seed: bootstrapSeed }),
      vsBestZooCalibrated: pairedBootstrap(scores, bestZooCalibrated, { seed: bootstrapSeed }),
      gapClosed: gapClosed(accuracy, bestSingle, references.ensembleCalibrated),
      stepTimes: {
        steps: totalSteps / times.length,
        accepted: times.reduce((s, t) => s + t.accepted, 0) / times.length,
        meanSeconds: totalSteps === 0 ? 0 : totalSeconds / totalSteps,
        totalSeconds: totalSeconds / times.length,
      },
    });
  }
  return { setting: results[0].setting, seeds: results.map((r) => r.seed), references, runs };
}

const percent = (fraction: number) => (100 * fraction).toFixed(2);
const points = (fraction: number) => `${fraction >= 0 ? '+' : '−'}${Math.abs(100 * fraction).toFixed(2)}`;
const interval = (i: BootstrapInterval) => `${points(i.difference)} [${points(i.low)}, ${points(i.high)}]`;
const share = (value: number | null) => (value === null ? 'n/a' : `${Math.round(100 * value)} %`);

interface TableRow {
  readonly setting: string;
  readonly seed: string;
  readonly references: SettingAverage['references'];
  readonly runs: readonly RunResult[];
  readonly bestZooIds?: string;
}

function rowOfReplicate(r: ReplicateResult): TableRow {
  return {
    setting: r.setting,
    seed: String(r.seed),
    references: {
      base: r.references.base,
      baseCalibrated: r.references.baseCalibrated,
      bestZoo: r.references.bestZoo.accuracy,
      bestZooCalibrated: r.references.bestZooCalibrated.accuracy,
      ensemble: r.references.ensemble,
      ensembleCalibrated: r.references.ensembleCalibrated,
      pairEnsembleCalibrated: r.references.pairEnsembleCalibrated,
    },
    runs: r.runs,
    bestZooIds:
      r.references.bestZoo.id === r.references.bestZooCalibrated.id
        ? r.references.bestZoo.id
        : `${r.references.bestZoo.id} / ${r.references.bestZooCalibrated.id}`,
  };
}

function rowOfAverage(a: SettingAverage): TableRow {
  return {
    setting: a.setting,
    seed: `mean of ${a.seeds.join(', ')}`,
    references: a.references,
    runs: a.runs,
  };
}

export interface ResultsInput {
  readonly epochs: number;
  readonly replicates: readonly ReplicateResult[];
  readonly averages: readonly SettingAverage[];
  readonly healUnavailable?: string;
}

/** The results as markdown: the accuracy table, the difference table, the variants and the notes. */
export function resultsMarkdown(input: ResultsInput): string {
  // A mean over one seed would only repeat its row.
  const averages = input.averages.filter((a) => a.seeds.length > 1);
  const rows = [...input.replicates.map(rowOfReplicate), ...averages.map(rowOfAverage)];
  const runOf = (row: TableRow, name: string) => row.runs.find((r) => r.name === name);
  const lines: string[] = [];
  lines.push(
    '**Accuracy on the full Fashion-MNIST test set (10 000 images, %).** "cal." = output biases re-fitted on the',
    '2 000 held-out objective images; the ensemble is the mean logits of the base and every zoo model, "base + best',
    'zoo" those of the base and the calibrated best zoo model alone.',
    '',
    '| setting | seed | base | base cal. | best zoo | best zoo cal. | ensemble cal. | base + best zoo cal. | assembled | assembled + heal |',
    '|---|---|---|---|---|---|---|---|---|---|',
  );
  for (const row of rows) {
    const heal = runOf(row, 'assemble-heal');
    lines.push(
      `| ${row.setting} | ${row.seed} | ${percent(row.references.base)} | ${percent(row.references.baseCalibrated)} | ${percent(row.references.bestZoo)} | ${percent(row.references.bestZooCalibrated)} | ${percent(row.references.ensembleCalibrated)} | ${percent(row.references.pairEnsembleCalibrated)} | ${formatRun(runOf(row, 'assemble'))} | ${heal === undefined ? 'not available' : percent(heal.accuracy)} |`,
    );
  }
  lines.push(
    '',
    '**Differences in percentage points, with paired-bootstrap 95 % intervals** (2 000 resamples of the test',
    "examples; the mean rows resample both seeds' examples together). Gap closed = (model − best calibrated single",
    'model) / (calibrated ensemble − best calibrated single model), the best single model being the better of the',
    'calibrated base and the calibrated best zoo model. s/step: mean seconds of an assembly step (steps taken).',
    '',
    '| setting | seed | assembled − base cal. | assembled − best zoo cal. | gap closed | + heal − base cal. | + heal − best zoo cal. | gap closed, + heal | s/step |',
    '|---|---|---|---|---|---|---|---|---|',
  );
  for (const row of rows) {
    const run = runOf(row, 'assemble');
    const heal = runOf(row, 'assemble-heal');
    const healCells =
      heal === undefined
        ? 'not available | not available | not available'
        : `${interval(heal.vsBaseCalibrated)} | ${interval(heal.vsBestZooCalibrated)} | ${share(heal.gapClosed)}`;
    lines.push(
      run === undefined
        ? `| ${row.setting} | ${row.seed} | | | | ${healCells} | |`
        : `| ${row.setting} | ${row.seed} | ${interval(run.vsBaseCalibrated)} | ${interval(run.vsBestZooCalibrated)} | ${share(run.gapClosed)} | ${healCells} | ${run.stepTimes.meanSeconds.toFixed(1)} (${formatCount(run.stepTimes.steps)}) |`,
    );
  }
  const variantNames = [...new Set(rows.flatMap((r) => r.runs.map((x) => x.name)))].filter(
    (n) => n !== 'assemble' && n !== 'assemble-heal',
  );
  if (variantNames.length > 0) {
    lines.push(
      '',
      '**Variants** (the default plan plus one field; accuracy %, differences in pp with 95 % intervals).',
      '',
      '| setting | seed | variant | accuracy | − base cal. | − best zoo cal. | gap closed | s/step |',
      '|---|---|---|---|---|---|---|---|',
    );
    for (const row of rows) {
      for (const name of variantNames) {
        const run = runOf(row, name);
        if (run === undefined) continue;
        lines.push(
          `| ${row.setting} | ${row.seed} | ${run.label} | ${percent(run.accuracy)} | ${interval(run.vsBaseCalibrated)} | ${interval(run.vsBestZooCalibrated)} | ${share(run.gapClosed)} | ${run.stepTimes.meanSeconds.toFixed(1)} |`,
        );
      }
    }
  }
  lines.push('', `Every model trained ${input.epochs} epochs (\`EXPERIMENT_EPOCHS\`).`);
  const bestIds = input.replicates.map((r) => `${r.setting} seed ${r.seed}: ${rowOfReplicate(r).bestZooIds}`);
  lines.push(`Best zoo model (raw / calibrated, chosen on the objective data): ${bestIds.join('; ')}.`);
  if (input.healUnavailable !== undefined)
    lines.push(`Heal: not available in this checkout (\`mal plan check\`: ${input.healUnavailable}).`);
  return `${lines.join('\n')}\n`;
}

function formatRun(run: RunResult | undefined): string {
  return run === undefined ? 'not run' : percent(run.accuracy);
}

function formatCount(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}
