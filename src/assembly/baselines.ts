/**
 * The baselines every assembly result is judged against (MAL §7): the base, the best single zoo model and the
 * logit ensemble of the base and the zoo, each raw and with its output calibration re-fitted on the objective
 * data, beside the assembled model raw and calibrated. Everything is computed from each model's logits, once per
 * data set, so all of them are measured the same way. The report data is only evaluated, never used to choose.
 */
import type { Dataset } from '../data/dataset.js';
import { MalError } from '../errors.js';
import {
  type Calibration,
  type CalibrationKind,
  calibrateLogits,
  fitCalibration,
  type LogitsTable,
} from '../eval/calibration.js';
import { evaluateLogits } from '../eval/logits-evaluation.js';
import type { ArchitectureSpec } from '../spec/architecture-spec.js';
import type { FloatTensor } from '../tensor/tensor.js';
import type { Baseline, BaselineName, Baselines, GapClosed, TaskResult } from './lineage.js';
import { evaluatedOf, type LoadedTask } from './objective-evaluation.js';

/** Data evaluated at the end only: a name (its source) and the examples. */
export interface ReportData {
  readonly name: string;
  readonly dataset: Dataset;
}

export type LogitsOn = (
  tensors: ReadonlyMap<string, FloatTensor>,
  spec: ArchitectureSpec,
  dataset: Dataset,
) => Promise<LogitsTable>;

interface Model {
  readonly tensors: ReadonlyMap<string, FloatTensor>;
  readonly spec: ArchitectureSpec;
}

export interface BaselineInputs {
  readonly tasks: readonly LoadedTask[];
  readonly report: readonly ReportData[];
  readonly base: Model;
  readonly zoo: readonly { readonly id: string; readonly model: Model }[];
  /** The training-free result of the assembly, before any calibration. */
  readonly assembled: Model;
  readonly kind: CalibrationKind;
  /** Whether the written model is the calibrated assembled one (the gap closed is measured for it). */
  readonly writtenCalibrated: boolean;
  readonly logitsOn: LogitsOn;
  readonly onProgress?: (done: number, total: number, model: string) => void;
}

export interface BaselineResult {
  readonly baselines: Baselines;
  /** The calibration fitted for the assembled model, on the objective tasks. */
  readonly assembledCalibration: Calibration;
}

/** A model's logits on every task's data, then on every report data set, in that order. */
export interface ModelLogits {
  readonly tables: readonly LogitsTable[];
}

export async function computeBaselines(inputs: BaselineInputs): Promise<BaselineResult> {
  const { tasks, report, kind } = inputs;
  const datasets = [...tasks.map((t) => t.dataset), ...report.map((r) => r.dataset)];
  const total = inputs.zoo.length + 2;
  let done = 0;
  const logitsOf = async (model: Model, name: string): Promise<ModelLogits> => {
    inputs.onProgress?.(done, total, name);
    const tables: LogitsTable[] = [];
    for (const dataset of datasets) tables.push(await inputs.logitsOn(model.tensors, model.spec, dataset));
    done++;
    return { tables };
  };
  const base = await logitsOf(inputs.base, 'base');
  const classes = base.tables[0].classes;
  const ensembleSum = base.tables.map((t) => Float64Array.from(t.logits));
  const members = ['base'];
  const excluded: { id: string; reason: string }[] = [];
  let bestRaw: Baseline | undefined;
  let bestCalibrated: Baseline | undefined;
  for (const z of inputs.zoo) {
    let logits: ModelLogits;
    try {
      logits = await logitsOf(z.model, z.id);
    } catch (error) {
      if (!(error instanceof MalError)) throw error;
      done++;
      excluded.push({ id: z.id, reason: error.message });
      continue;
    }
    if (logits.tables[0].classes !== classes) {
      excluded.push({
        id: z.id,
        reason: `it has ${logits.tables[0].classes} outputs, the base ${classes}`,
      });
      continue;
    }
    members.push(z.id);
    logits.tables.forEach((t, i) => {
      for (let k = 0; k < t.logits.length; k++) ensembleSum[i][k] += t.logits[k];
    });
    const raw = measured(inputs, logits, 'best-zoo', `best single zoo model ${z.id}`, [z.id]);
    const calibrated = calibratedBaseline(
      inputs,
      logits,
      'best-zoo-calibrated',
      `best single zoo model ${z.id}, calibrated`,
      [z.id],
    ).baseline;
    if (bestRaw === undefined || raw.objective.objective < bestRaw.objective.objective) bestRaw = raw;
    if (bestCalibrated === undefined || calibrated.objective.objective < bestCalibrated.objective.objective)
      bestCalibrated = calibrated;
  }
  const ensemble: ModelLogits = {
    tables: ensembleSum.map((sum) => ({
      logits: Float32Array.from(sum, (v) => v / members.length),
      classes,
    })),
  };
  const ensembleLabel = `logit ensemble of the base and ${members.length - 1} zoo model${members.length === 2 ? '' : 's'}`;
  const assembled = await logitsOf(inputs.assembled, 'assembled');
  const assembledCalibrated = calibratedBaseline(
    inputs,
    assembled,
    'assembled-calibrated',
    'assembled model, calibrated',
    ['assembled'],
  );
  const entries: Baseline[] = [
    measured(inputs, base, 'base', 'base', ['base']),
    calibratedBaseline(inputs, base, 'base-calibrated', 'base, calibrated', ['base']).baseline,
    ...(bestRaw === undefined || bestCalibrated === undefined ? [] : [bestRaw, bestCalibrated]),
    measured(inputs, ensemble, 'ensemble', ensembleLabel, members),
    calibratedBaseline(inputs, ensemble, 'ensemble-calibrated', `${ensembleLabel}, calibrated`, members)
      .baseline,
    measured(inputs, assembled, 'assembled', 'assembled model (training-free)', ['assembled']),
    assembledCalibrated.baseline,
  ];
  return {
    baselines: {
      calibration: kind,
      report: report.map((r) => r.name),
      entries,
      excluded,
      gapClosed: gapClosed(inputs, entries, inputs.writtenCalibrated ? 'assembled-calibrated' : 'assembled'),
    },
    assembledCalibration: assembledCalibrated.calibration,
  };
}

/** The data a baseline is measured on: the objective tasks, then the report data. */
export type MeasuredOn = Pick<BaselineInputs, 'tasks' | 'report'>;

/** A model's (or ensemble's) entry from its logits on every task's data, then on every report data set. */
export function measured(
  inputs: MeasuredOn,
  logits: ModelLogits,
  name: BaselineName,
  label: string,
  models: readonly string[],
): Baseline {
  const { tasks, report } = inputs;
  const results = logits.tables.map((table, i): TaskResult => {
    const dataset = i < tasks.length ? tasks[i].dataset : report[i - tasks.length].dataset;
    const e = evaluateLogits(table, dataset.labels);
    const taskName = i < tasks.length ? tasks[i].name : report[i - tasks.length].name;
    return { name: taskName, loss: e.loss, accuracy: e.accuracy };
  });
  return {
    name,
    label,
    models,
    objective: evaluatedOf(tasks, results.slice(0, tasks.length)),
    report: results.slice(tasks.length),
  };
}

/** Fits the calibration on the objective tasks (each weighing its weight, spread over its examples), applies it everywhere. */
function calibratedBaseline(
  inputs: BaselineInputs,
  logits: ModelLogits,
  name: BaselineName,
  label: string,
  models: readonly string[],
): { baseline: Baseline; calibration: Calibration } {
  const calibration = fitOnTasks(inputs.tasks, logits.tables.slice(0, inputs.tasks.length), inputs.kind);
  const calibrated: ModelLogits = {
    tables: logits.tables.map((t) => ({ logits: calibrateLogits(t, calibration), classes: t.classes })),
  };
  const baseline = measured(inputs, calibrated, name, label, models);
  return {
    baseline: {
      ...baseline,
      calibration: { temperature: calibration.temperature, biases: calibration.biases },
    },
    calibration,
  };
}

/** The calibration minimising Σ weight · mean cross-entropy over the tasks: the objective of loss tasks. */
export function fitOnTasks(
  tasks: readonly LoadedTask[],
  tables: readonly LogitsTable[],
  kind: CalibrationKind,
): Calibration {
  const classes = tables[0].classes;
  const count = tasks.reduce((n, t) => n + t.dataset.count, 0);
  const logits = new Float32Array(count * classes);
  const labels = new Int32Array(count);
  const weights = new Float64Array(count);
  let at = 0;
  tasks.forEach((t, i) => {
    logits.set(tables[i].logits, at * classes);
    labels.set(t.dataset.labels, at);
    weights.fill(t.task.weight / t.dataset.count, at, at + t.dataset.count);
    at += t.dataset.count;
  });
  const {
    kind: fitted,
    temperature,
    biases,
  } = fitCalibration({ logits, classes }, labels, kind, { weights });
  return { kind: fitted, temperature, biases };
}

function betterOf(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  return b === null ? a : Math.max(a, b);
}

/** The gap closed by the entry `assembledName` (the written model, or the healed one). */
export function gapClosed(
  inputs: MeasuredOn,
  entries: readonly Baseline[],
  assembledName: BaselineName,
): GapClosed {
  const on = inputs.report.length > 0 ? 'report' : 'objective';
  const accuracy = (name: BaselineName): number | null => {
    const entry = entries.find((e) => e.name === name);
    if (entry === undefined) return null;
    if (on === 'report') return entry.report.reduce((s, r) => s + r.accuracy, 0) / entry.report.length;
    const totalWeight = inputs.tasks.reduce((s, t) => s + t.task.weight, 0);
    return (
      entry.objective.tasks.reduce((s, r, i) => s + inputs.tasks[i].task.weight * r.accuracy, 0) / totalWeight
    );
  };
  const accuracies = {
    assembled: accuracy(assembledName),
    // The base is a single model too: a calibrated base above every calibrated zoo model is where the gap starts,
    // or re-fitting the base's biases alone would count as gap closed by the assembly.
    bestSingle: betterOf(accuracy('base-calibrated'), accuracy('best-zoo-calibrated')),
    ensemble: accuracy('ensemble-calibrated'),
  };
  const { assembled, bestSingle, ensemble } = accuracies;
  const closable = assembled !== null && bestSingle !== null && ensemble !== null && ensemble > bestSingle;
  return {
    on,
    assembled: assembledName,
    accuracies,
    value: closable ? (assembled - bestSingle) / (ensemble - bestSingle) : null,
  };
}
