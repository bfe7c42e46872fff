/**
 * Heal (plan field `heal`): after the assembly loop and its calibration, the written model is distilled from the
 * logit ensemble of the original base and the accepted donors, then its output calibration is re-fitted. The
 * interpolation cannot extract everything the ensemble knows; a few hundred Adam steps on unlabelled examples can
 * recover part of it. It is training, so the result is written and reported apart from the training-free model,
 * and nothing here touches a step or its key.
 */
import type { Dataset } from '../data/dataset.js';
import { MalError } from '../errors.js';
import { type CalibrationKind, calibrateLogits, type LogitsTable } from '../eval/calibration.js';
import { applyCalibrationToModel } from '../eval/calibration-fold.js';
import type { ForwardConfig } from '../eval/forward.js';
import { meanLogits } from '../eval/logits-evaluation.js';
import type { ArchitectureSpec } from '../spec/architecture-spec.js';
import { sha256 } from '../store/content-store.js';
import type { FloatTensor } from '../tensor/tensor.js';
import { distillModel } from '../train/distill-model.js';
import type { HealSettings } from './assembly-plan.js';
import { fitOnTasks, type LogitsOn, measured, type ReportData } from './baselines.js';
import type { Baseline, HealOptionsRecord, HealTeacherMember, LineageHeal, LineageStep } from './lineage.js';
import { encodeState } from './model-state.js';
import type { LoadedTask } from './objective-evaluation.js';

/** The healed model's file name in the output folder, beside model.safetensors. */
export const HEALED_MODEL_FILE = 'model-healed.safetensors';

/** How many points of the loss history the lineage keeps (plus the last step). */
const LOSS_HISTORY_POINTS = 50;

export interface HealInputs {
  readonly settings: HealSettings;
  readonly seed: number;
  readonly tasks: readonly LoadedTask[];
  readonly report: readonly ReportData[];
  /** The unlabelled examples, already limited to `settings.examples`, and the data source they came from. */
  readonly examples: { readonly source: string; readonly dataset: Dataset };
  readonly base: {
    readonly tensors: ReadonlyMap<string, FloatTensor>;
    readonly spec: ArchitectureSpec;
    readonly config?: ForwardConfig;
    readonly sha256: string;
    readonly order: readonly string[];
  };
  readonly zoo: readonly {
    readonly id: string;
    readonly sha256: string;
    readonly model: { readonly tensors: ReadonlyMap<string, FloatTensor>; readonly spec: ArchitectureSpec };
  }[];
  readonly steps: readonly LineageStep[];
  /** The written (training-free, calibrated when the plan says so) model: the student's start. */
  readonly student: ReadonlyMap<string, FloatTensor>;
  /** The plan's calibration, re-fitted after distillation; 'none' leaves the healed model's output as trained. */
  readonly calibrate: CalibrationKind | 'none';
  /** The calibration of the teacher ensemble: that of the calibrated ensemble baseline. */
  readonly teacherCalibration: CalibrationKind;
  readonly logitsOn: LogitsOn;
  readonly onStep?: (step: number, steps: number, loss: number) => void;
}

export interface HealOutcome {
  readonly record: LineageHeal;
  /** The healed model as safetensors bytes (the base's tensor order); absent when heal was skipped. */
  readonly model?: Uint8Array;
  /** Its baselines row, "assembled + heal (training)"; absent when heal was skipped. */
  readonly baseline?: Baseline;
}

/**
 * The zoo models of the accepted steps, every donor of a multi-donor step included, in the order first merged.
 */
export function acceptedDonors(steps: readonly LineageStep[]): string[] {
  const ids: string[] = [];
  for (const step of steps) {
    const accepted = step.accepted;
    if (accepted === null) continue;
    const donors = accepted.fusion?.donors.map((d) => d.candidate.model) ?? [accepted.candidate.model];
    for (const id of donors) if (!ids.includes(id)) ids.push(id);
  }
  return ids;
}

export async function healAssembly(inputs: HealInputs): Promise<HealOutcome> {
  const { settings, tasks, report, base, examples } = inputs;
  const options: HealOptionsRecord = {
    steps: settings.steps,
    batchSize: settings.batchSize,
    learningRate: settings.learningRate,
    temperature: settings.temperature,
    data: examples.source,
    teacher: settings.teacher,
    ...(settings.examples === undefined ? {} : { examples: settings.examples }),
  };
  const donors = settings.teacher === 'zoo' ? inputs.zoo.map((z) => z.id) : acceptedDonors(inputs.steps);
  if (donors.length === 0)
    return {
      record: {
        status: 'skipped',
        options,
        reason:
          settings.teacher === 'zoo'
            ? 'the run loaded no zoo model, so the teacher would be the base alone'
            : 'no step accepted a donor, so the teacher would be the base alone and the model has nothing to learn from it (heal.teacher: zoo distils the whole zoo instead)',
      },
    };
  const started = performance.now();
  // Teacher logits on the objective data (to fit its calibration) and on the heal examples (to distil).
  const datasets = [...tasks.map((t) => t.dataset), examples.dataset];
  const logitsOf = async (tensors: ReadonlyMap<string, FloatTensor>, spec: ArchitectureSpec) => {
    const tables: LogitsTable[] = [];
    for (const dataset of datasets) tables.push(await inputs.logitsOn(tensors, spec, dataset));
    return tables;
  };
  const memberLogits = [await logitsOf(base.tensors, base.spec)];
  const members: HealTeacherMember[] = [{ id: 'base', sha256: base.sha256 }];
  const classes = memberLogits[0][0].classes;
  const excluded: { id: string; reason: string }[] = [];
  for (const id of donors) {
    const z = inputs.zoo.find((entry) => entry.id === id);
    if (z === undefined) {
      excluded.push({ id, reason: 'it is not among the zoo models of this run' });
      continue;
    }
    let tables: LogitsTable[];
    try {
      tables = await logitsOf(z.model.tensors, z.model.spec);
    } catch (error) {
      if (!(error instanceof MalError)) throw error;
      excluded.push({ id, reason: error.message });
      continue;
    }
    if (tables[0].classes !== classes) {
      excluded.push({ id, reason: `it has ${tables[0].classes} outputs, the base ${classes}` });
      continue;
    }
    memberLogits.push(tables);
    members.push({ id, sha256: z.sha256 });
  }
  if (members.length === 1)
    return {
      record: {
        status: 'skipped',
        options,
        reason: `no ${settings.teacher === 'zoo' ? 'zoo model' : 'accepted donor'} can join the teacher ensemble (${excluded.map((e) => `${e.id}: ${e.reason}`).join('; ')})`,
      },
    };
  const ensemble = datasets.map((_, i) => meanLogits(memberLogits.map((tables) => tables[i])));
  const teacherCalibration = fitOnTasks(tasks, ensemble.slice(0, tasks.length), inputs.teacherCalibration);
  const teacherLogits = calibrateLogits(ensemble[tasks.length], teacherCalibration);

  const distilled = await distillModel({
    tensors: inputs.student,
    spec: base.spec,
    config: base.config,
    examples: examples.dataset,
    teacherLogits,
    steps: settings.steps,
    batchSize: settings.batchSize,
    learningRate: settings.learningRate,
    temperature: settings.temperature,
    seed: inputs.seed,
    onStep: inputs.onStep,
  });

  let healed: Map<string, FloatTensor> = distilled.tensors;
  let calibration: { kind: CalibrationKind; temperature: number; biases: number[] } | undefined;
  if (inputs.calibrate !== 'none') {
    const tables: LogitsTable[] = [];
    for (const t of tasks) tables.push(await inputs.logitsOn(healed, base.spec, t.dataset));
    const fitted = fitOnTasks(tasks, tables, inputs.calibrate);
    calibration = { kind: fitted.kind, temperature: fitted.temperature, biases: [...fitted.biases] };
    healed = applyCalibrationToModel(healed, base.spec, fitted);
  }
  const healedTables: LogitsTable[] = [];
  for (const dataset of [...tasks.map((t) => t.dataset), ...report.map((r) => r.dataset)])
    healedTables.push(await inputs.logitsOn(healed, base.spec, dataset));
  const baseline = measured(
    { tasks, report },
    { tables: healedTables },
    'assembled-healed',
    'assembled + heal (training)',
    ['assembled'],
  );
  const model = encodeState(base.order, healed, {
    trained_by: 'distillation',
    heal_steps: String(settings.steps),
    heal_data: examples.source,
    heal_examples: String(examples.dataset.count),
    heal_teacher: members.map((m) => m.id).join(','),
  });
  return {
    model,
    baseline,
    record: {
      status: 'healed',
      trainedBy: 'distillation',
      file: HEALED_MODEL_FILE,
      options,
      teacher: {
        members,
        excluded,
        calibration: {
          kind: teacherCalibration.kind,
          temperature: teacherCalibration.temperature,
          biases: [...teacherCalibration.biases],
        },
      },
      examples: examples.dataset.count,
      seconds: (performance.now() - started) / 1000,
      loss: lossSummary(distilled.lossHistory),
      ...(calibration === undefined ? {} : { calibration }),
      objective: baseline.objective,
      report: baseline.report,
      sha256: sha256(model),
    },
  };
}

function lossSummary(history: readonly number[]) {
  const every = Math.max(1, Math.ceil(history.length / LOSS_HISTORY_POINTS));
  const kept: { step: number; loss: number }[] = [];
  history.forEach((loss, i) => {
    if (i % every === 0 || i === history.length - 1) kept.push({ step: i + 1, loss });
  });
  return {
    first: history[0],
    last: history[history.length - 1],
    min: Math.min(...history),
    every,
    history: kept,
  };
}
