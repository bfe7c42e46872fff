/**
 * Measures one replicate on the full test set with the project's own functions (model loading, forward pass,
 * calibration): every model's logits on the objective data and the test set, calibrations fitted on the
 * objective data only, and per-example correctness for the paired bootstrap. Nothing here chooses anything by
 * the test set: the best zoo model is the one with the lowest objective-data loss, as in the lineage.
 */
import { join } from 'node:path';
import type { Dataset } from '../../src/data/dataset.js';
import { MalError } from '../../src/errors.js';
import {
  type CalibrationKind,
  calibrateLogits,
  fitCalibration,
  type LogitsTable,
} from '../../src/eval/calibration.js';
import { evaluateLogits, meanLogits } from '../../src/eval/logits-evaluation.js';
import { forwardConfigOf, loadDatasetFor } from '../../src/eval/model-evaluation.js';
import { modelLogits } from '../../src/eval/model-logits.js';
import { type BootstrapInterval, pairedBootstrap } from '../../src/eval/paired-bootstrap.js';
import { loadModel, readFiniteFloatTensors } from '../../src/model/load-model.js';
import type { ArchitectureSpec } from '../../src/spec/architecture-spec.js';
import { REPORT_DATA, type ReplicateLayout } from './design.js';
import { ExperimentFileError, readJsonIfPresent } from './json-file.js';
import { accuracyOf, correctness, gapClosed } from './scores.js';

/** An assembly whose written model is measured: its output folder and which model file of it. */
export interface MeasuredRun {
  readonly name: string;
  readonly label: string;
  readonly folder: string;
  readonly modelFile: string;
}

export interface StepTimes {
  readonly steps: number;
  readonly accepted: number;
  readonly meanSeconds: number;
  readonly totalSeconds: number;
}

export interface RunResult {
  readonly name: string;
  readonly label: string;
  readonly accuracy: number;
  readonly vsBaseCalibrated: BootstrapInterval;
  readonly vsBestZooCalibrated: BootstrapInterval;
  /** Against the better of the calibrated base and the calibrated best zoo model (on the test set). */
  readonly gapClosed: number | null;
  readonly stepTimes: StepTimes;
}

export interface ReplicateResult {
  readonly setting: string;
  readonly seed: number;
  readonly zooSize: number;
  readonly calibration: CalibrationKind;
  /** Test-set accuracy (fraction) of every reference model. */
  readonly references: {
    readonly base: number;
    readonly baseCalibrated: number;
    readonly bestZoo: { readonly id: string; readonly accuracy: number };
    readonly bestZooCalibrated: { readonly id: string; readonly accuracy: number };
    readonly ensemble: number;
    readonly ensembleCalibrated: number;
    /**
     * The calibrated logit ensemble of the base and the calibrated best zoo model alone: both models kept whole,
     * about the most a fusion of those two could reach without training.
     */
    readonly pairEnsembleCalibrated: number;
  };
  /** The training-free assembly, the healed one (when heal exists) and the optional variants. */
  readonly runs: readonly RunResult[];
  /** Why the heal row is empty, when it is. */
  readonly healUnavailable?: string;
  /**
   * Largest |this measurement − the lineage's baselines| in accuracy on the test set over the entries both
   * have: the two computations share no code path above the forward pass, so a mismatch means a bug.
   */
  readonly lineageAgreement: number;
}

/** The per-example scores the averaged bootstrap needs, beside the result. */
export interface ReplicateScores {
  readonly baseCalibrated: Uint8Array;
  readonly bestZooCalibrated: Uint8Array;
  readonly runs: ReadonlyMap<string, Uint8Array>;
}

interface LogitsPair {
  readonly objective: LogitsTable;
  readonly test: LogitsTable;
}

let testSet: { spec: ArchitectureSpec; dataset: Dataset } | undefined;

export async function measureReplicate(
  layout: ReplicateLayout,
  runs: readonly MeasuredRun[],
  healUnavailable: string | undefined,
  bootstrapSeed: number,
): Promise<{ result: ReplicateResult; scores: ReplicateScores }> {
  const baseLoaded = await loadModel(layout.baseModel);
  const spec = baseLoaded.spec;
  await baseLoaded.source.close();
  const objective = await loadDatasetFor(spec, layout.holdout, {});
  if (testSet === undefined) testSet = { spec, dataset: await loadDatasetFor(spec, REPORT_DATA, {}) };
  const test = testSet.dataset;
  const logitsOf = async (path: string): Promise<LogitsPair> => {
    const model = await loadModel(path);
    try {
      const tensors = await readFiniteFloatTensors(model, model.source.tensorNames());
      const config = forwardConfigOf(model);
      return {
        objective: await modelLogits(tensors, model.spec, objective, config),
        test: await modelLogits(tensors, model.spec, test, config),
      };
    } finally {
      await model.source.close();
    }
  };
  const mainLineage = await readLineage(join(runs[0].folder, 'lineage.json'));
  const kind: CalibrationKind = mainLineage.baselines?.calibration ?? 'biases';
  const calibrated = (pair: LogitsPair) => {
    const fit = fitCalibration(pair.objective, objective.labels, kind);
    return {
      objectiveLoss: fit.lossAfter,
      test: { logits: calibrateLogits(pair.test, fit), classes: pair.test.classes },
    };
  };
  const testCorrect = (table: LogitsTable) => correctness(table, test.labels);

  const base = await logitsOf(layout.baseModel);
  const zooModels = layout.models().filter((m) => m.zoo === layout.zoo);
  const zoo: { id: string; logits: LogitsPair }[] = [];
  for (const m of zooModels)
    zoo.push({ id: m.id, logits: await logitsOf(join(layout.zoo, 'models', `${m.id}.safetensors`)) });

  const bestRaw = minimumBy(zoo, (z) => evaluateLogits(z.logits.objective, objective.labels).loss);
  const zooCalibrated = zoo.map((z) => ({ id: z.id, ...calibrated(z.logits) }));
  const bestCalibrated = minimumBy(zooCalibrated, (z) => z.objectiveLoss);
  const members = [base, ...zoo.map((z) => z.logits)];
  const ensemble: LogitsPair = {
    objective: meanLogits(members.map((m) => m.objective)),
    test: meanLogits(members.map((m) => m.test)),
  };
  const bestLogits = zoo.find((z) => z.id === bestCalibrated.id)!.logits;
  const pair: LogitsPair = {
    objective: meanLogits([base.objective, bestLogits.objective]),
    test: meanLogits([base.test, bestLogits.test]),
  };
  const scores = {
    base: testCorrect(base.test),
    baseCalibrated: testCorrect(calibrated(base).test),
    bestZoo: testCorrect(bestRaw.logits.test),
    bestZooCalibrated: testCorrect(bestCalibrated.test),
    ensemble: testCorrect(ensemble.test),
    ensembleCalibrated: testCorrect(calibrated(ensemble).test),
    pairEnsembleCalibrated: testCorrect(calibrated(pair).test),
  };
  const references = {
    base: accuracyOf(scores.base),
    baseCalibrated: accuracyOf(scores.baseCalibrated),
    bestZoo: { id: bestRaw.id, accuracy: accuracyOf(scores.bestZoo) },
    bestZooCalibrated: { id: bestCalibrated.id, accuracy: accuracyOf(scores.bestZooCalibrated) },
    ensemble: accuracyOf(scores.ensemble),
    ensembleCalibrated: accuracyOf(scores.ensembleCalibrated),
    pairEnsembleCalibrated: accuracyOf(scores.pairEnsembleCalibrated),
  };
  const bestSingle = Math.max(references.baseCalibrated, references.bestZooCalibrated.accuracy);

  const runResults: RunResult[] = [];
  const runScores = new Map<string, Uint8Array>();
  for (const run of runs) {
    const lineage = await readLineage(join(run.folder, 'lineage.json'));
    const correct = testCorrect((await logitsOf(join(run.folder, run.modelFile))).test);
    runScores.set(run.name, correct);
    const accuracy = accuracyOf(correct);
    runResults.push({
      name: run.name,
      label: run.label,
      accuracy,
      vsBaseCalibrated: pairedBootstrap(correct, scores.baseCalibrated, { seed: bootstrapSeed }),
      vsBestZooCalibrated: pairedBootstrap(correct, scores.bestZooCalibrated, { seed: bootstrapSeed }),
      gapClosed: gapClosed(accuracy, bestSingle, references.ensembleCalibrated),
      stepTimes: stepTimesOf(lineage),
    });
  }
  const mine: Record<string, number> = {
    base: references.base,
    'base-calibrated': references.baseCalibrated,
    'best-zoo': references.bestZoo.accuracy,
    'best-zoo-calibrated': references.bestZooCalibrated.accuracy,
    ensemble: references.ensemble,
    'ensemble-calibrated': references.ensembleCalibrated,
    [mainLineage.calibration === undefined ? 'assembled' : 'assembled-calibrated']: runResults[0].accuracy,
  };
  let agreement = 0;
  for (const entry of mainLineage.baselines?.entries ?? []) {
    const theirs = entry.report.find((r) => r.name === REPORT_DATA)?.accuracy;
    if (theirs !== undefined && mine[entry.name] !== undefined)
      agreement = Math.max(agreement, Math.abs(theirs - mine[entry.name]));
  }
  return {
    result: {
      setting: layout.setting.name,
      seed: layout.seed,
      zooSize: zoo.length,
      calibration: kind,
      references,
      runs: runResults,
      ...(healUnavailable === undefined ? {} : { healUnavailable }),
      lineageAgreement: agreement,
    },
    scores: {
      baseCalibrated: scores.baseCalibrated,
      bestZooCalibrated: scores.bestZooCalibrated,
      runs: runScores,
    },
  };
}

/** The parts of lineage.json read here (src/assembly/lineage.ts has the whole format). */
interface LineageRead {
  readonly steps: readonly { readonly seconds: number; readonly accepted: unknown }[];
  readonly calibration?: unknown;
  readonly baselines?: {
    readonly calibration: CalibrationKind;
    readonly entries: readonly {
      readonly name: string;
      readonly report: readonly { readonly name: string; readonly accuracy: number }[];
    }[];
  };
}

async function readLineage(file: string): Promise<LineageRead> {
  const lineage = (await readJsonIfPresent(file)) as LineageRead | undefined;
  if (lineage === undefined || !Array.isArray(lineage.steps))
    throw new ExperimentFileError(
      `${file} is missing or has no steps; the assembly did not finish — run the experiment again to resume it`,
    );
  return lineage;
}

function stepTimesOf(lineage: LineageRead): StepTimes {
  const seconds = lineage.steps.map((s) => s.seconds);
  const total = seconds.reduce((a, b) => a + b, 0);
  return {
    steps: seconds.length,
    accepted: lineage.steps.filter((s) => s.accepted !== null).length,
    meanSeconds: seconds.length === 0 ? 0 : total / seconds.length,
    totalSeconds: total,
  };
}

function minimumBy<T>(items: readonly T[], key: (item: T) => number): T {
  if (items.length === 0) throw new MalError('the experiment needs at least one zoo model');
  let best = items[0];
  let bestKey = key(best);
  for (const item of items.slice(1)) {
    const k = key(item);
    if (k < bestKey) {
      best = item;
      bestKey = k;
    }
  }
  return best;
}
