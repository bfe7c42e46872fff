import type { Dataset } from '../data/dataset.js';
import { MalError } from '../errors.js';
import { classesWithoutExamples } from '../eval/calibration.js';
import { applyCalibrationToModel, outputLayerTensors } from '../eval/calibration-fold.js';
import { modelLogits } from '../eval/model-logits.js';
import { isTransformerFamily } from '../eval/transformer-settings.js';
import { hashOf, type StepStore, sha256 } from '../store/content-store.js';
import type { FloatTensor } from '../tensor/tensor.js';
import type { AssemblyPlan, HealSettings } from './assembly-plan.js';
import { assemblyStep, type EvaluateModels, type StepInputs } from './assembly-step.js';
import { computeBaselines, gapClosed, type LogitsOn, type ReportData } from './baselines.js';
import type { ModelInMemory } from './candidate-alignment.js';
import { checkCandidateCompatibility } from './candidate-compatibility.js';
import { type Candidate, generateCandidates } from './candidates.js';
import { healAssembly } from './heal.js';
import { computeLanguageModelBaselines } from './language-model-baselines.js';
import type { Baselines, CandidateRef, Evaluated, Lineage, LineageStep } from './lineage.js';
import { afterStep, budgetSpentReason } from './loop-policy.js';
import { decodeState, encodeState } from './model-state.js';
import type { LoadedTask } from './objective-evaluation.js';
import { PlanError } from './plan-error.js';
import { planMergeChoice } from './plan-merge.js';

export interface AssemblyEvents {
  stepStarted?(index: number, budget: number): void;
  progress?(phase: 'align' | 'score', done: number, total: number, candidate: string): void;
  /** `resumed`: the step's result was found in the store and not recomputed. */
  stepFinished?(step: LineageStep, resumed: boolean): void;
  /** After the loop: the baselines' models being evaluated. */
  baselines?(done: number, total: number, model: string): void;
  /** After the baselines, when the plan heals: each distillation step with its loss. */
  healStep?(step: number, steps: number, loss: number): void;
}

export interface AssemblyInputs {
  readonly plan: AssemblyPlan;
  readonly base: ModelInMemory & {
    readonly path: string;
    readonly sha256: string;
    readonly order: readonly string[];
  };
  readonly zoo: readonly { readonly id: string; readonly sha256: string; readonly model: ModelInMemory }[];
  readonly tasks: readonly LoadedTask[];
  /** The plan's report data, loaded: evaluated at the end only, for the written model and the baselines. */
  readonly report?: readonly ReportData[];
  /** Logits of any model the forward pass runs (base, zoo, assembled) on a data set; with config {} when absent. */
  readonly logitsOn?: LogitsOn;
  /** The plan's statistics.data, loaded; absent: the first task's data stands in. */
  readonly statistics?: Dataset;
  /**
   * The examples heal distils on (heal.data, else statistics.data, limited to heal.examples) and their source;
   * absent: the first task's data stands in.
   */
  readonly healExamples?: { readonly source: string; readonly dataset: Dataset };
  /** The plan's merge.ancestor, loaded: task-vector merge methods measure against it. */
  readonly ancestor?: { readonly sha256: string; readonly tensors: ReadonlyMap<string, FloatTensor> };
  /** Zoo models left out before the run, with the reason; recorded in the lineage. */
  readonly skipped?: readonly { readonly id: string; readonly reason: string }[];
  readonly backend: string;
  readonly store: StepStore;
  /** Evaluates one model on the given tasks, in this thread. */
  readonly evaluateOn: (
    tensors: ReadonlyMap<string, FloatTensor>,
    spec: ModelInMemory['spec'],
    tasks: readonly LoadedTask[],
  ) => Promise<Evaluated>;
  /** Evaluates many models of the base's architecture on every task. */
  readonly evaluateMany: EvaluateModels;
  /** Aligns a step's candidates elsewhere (task workers); in this process when absent. */
  readonly alignCandidates?: StepInputs['alignCandidates'];
  /**
   * Evaluates models of the base's architecture on the first `examples` examples of every task elsewhere (task
   * workers), for the ranking before the λ grid; in this thread, one model after another, when absent. It must
   * give what `evaluateOn` gives on those examples.
   */
  readonly evaluateManyOnFirst?: StepInputs['evaluateOnFirst'];
  /** Evaluates candidates' merges along λ elsewhere, the merges built there (task workers); see StepInputs. */
  readonly evaluatePaths?: StepInputs['evaluatePaths'];
  readonly events?: AssemblyEvents;
}

export interface AssemblyResult {
  readonly lineage: Lineage;
  /** The assembled model as safetensors bytes (float32, the base's tensor order). */
  readonly model: Uint8Array;
  /** The healed model (training: plan field `heal`), written beside it as model-healed.safetensors; absent without heal. */
  readonly healedModel?: Uint8Array;
}

/** What a step's result depends on: a change to any of these makes it a different step. */
interface StepRecord {
  readonly step: LineageStep;
}

const HASH = /^[0-9a-f]{64}$/;

/**
 * The shape a stored step record must have to be used: a record that parses but lacks these (a truncated or
 * hand-edited file) is damaged like one that does not parse, and its step is computed again.
 */
export function isStepRecord(value: unknown): value is StepRecord {
  if (typeof value !== 'object' || value === null) return false;
  const step: unknown = (value as { step?: unknown }).step;
  if (typeof step !== 'object' || step === null) return false;
  const s = step as Record<string, unknown>;
  return (
    Number.isSafeInteger(s.index) &&
    typeof s.stateBefore === 'string' &&
    HASH.test(s.stateBefore) &&
    typeof s.stateAfter === 'string' &&
    HASH.test(s.stateAfter) &&
    typeof s.objectiveBefore === 'number' &&
    typeof s.objectiveAfter === 'number' &&
    (s.accepted === null || (typeof s.accepted === 'object' && !Array.isArray(s.accepted))) &&
    Array.isArray(s.scored) &&
    Array.isArray(s.pruned) &&
    Array.isArray(s.failed) &&
    typeof s.seconds === 'number'
  );
}

/** What one step produced: its lineage entry, the state after it, and whether it came from the store. */
export interface AssemblyStepRun {
  readonly step: LineageStep;
  /** The key its record is stored under: the hash of the step's inputs. */
  readonly key: string;
  readonly state: Map<string, FloatTensor>;
  readonly resumed: boolean;
}

/**
 * The loaded inputs of a run and what every step needs that does not change between steps: the candidates, the
 * base's evaluation and its state hash. A Temporal worker prepares it once per run and then runs steps one by
 * one, so each step can be a separate activity identified by its index and state hash.
 */
export interface PreparedAssembly {
  readonly inputs: AssemblyInputs;
  readonly options: Record<string, unknown>;
  readonly zooHashes: readonly { readonly id: string; readonly sha256: string }[];
  /** The candidates every step tries: those whose spaces can align. */
  readonly candidates: readonly Candidate[];
  /** Candidates whose spaces can never align, dropped before the first step; recorded once in the lineage. */
  readonly unalignable: readonly { readonly candidate: CandidateRef; readonly reason: string }[];
  readonly initial: Evaluated;
  readonly initialStateHash: string;
  readonly evaluateOne: (
    tensors: ReadonlyMap<string, FloatTensor>,
    spec: ModelInMemory['spec'],
  ) => Promise<Evaluated>;
  /** Evaluates models on the first `examples` examples of each task, in this thread (ranking before the grid). */
  readonly evaluateOnFirst: StepInputs['evaluateOnFirst'];
}

/**
 * The assembly loop of MAL §6. Every step is a deterministic function of the state's hash, the zoo's hashes and
 * the options; its result is stored under the hash of those inputs, so a run killed at any point and started
 * again skips finished steps and ends with the same bytes.
 */
export async function runAssembly(inputs: AssemblyInputs): Promise<AssemblyResult> {
  const prepared = await prepareAssembly(inputs);
  const { plan } = inputs;
  let state = new Map(inputs.base.tensors);
  let stateHash = prepared.initialStateHash;
  let objective = prepared.initial.objective;
  const steps: LineageStep[] = [];
  let stopReason = budgetSpentReason(plan.steps);

  for (let index = 0; index < plan.steps; ) {
    const run = await runAssemblyStep(prepared, { index, stateHash, objective, state });
    steps.push(run.step);
    state = run.state;
    stateHash = run.step.stateAfter;
    objective = run.step.objectiveAfter;
    const decision = afterStep(index, plan.steps, run.step.accepted !== null);
    if ('stop' in decision) {
      stopReason = decision.stop;
      break;
    }
    index = decision.next;
  }
  return finishAssembly(prepared, steps, state, stopReason);
}

/** Stores the base as the first state and evaluates it: what every step of the run shares. */
export async function prepareAssembly(inputs: AssemblyInputs): Promise<PreparedAssembly> {
  const { plan, base, store } = inputs;
  if (isTransformerFamily(base.spec.family)) checkLanguageModelPlan(plan, base.spec.family);
  // Refused before any step: a model whose output layer cannot hold the calibration the plan asks for.
  else if (plan.calibrate !== 'none') checkCalibrationData(inputs);
  await checkExamplesFitBase(inputs);
  const generated = generateCandidates(
    base.spec,
    inputs.zoo.map((z) => ({ id: z.id, spec: z.model.spec })),
    plan.candidates,
  );
  const zooById = new Map(inputs.zoo.map((z) => [z.id, z]));
  const zooEntry = (id: string) => {
    const z = zooById.get(id);
    if (z === undefined) throw new RangeError(`no zoo model '${id}'`);
    return z;
  };
  const { alignable, unalignable } = checkCandidateCompatibility(
    base,
    (id) => zooEntry(id).model,
    generated,
    planMergeChoice(plan.merge).method,
  );
  const evaluateOne = (tensors: ReadonlyMap<string, FloatTensor>, spec: ModelInMemory['spec']) =>
    inputs.evaluateOn(tensors, spec, inputs.tasks);
  const firstTasks = new Map<number, LoadedTask[]>();
  const evaluateInThread = async (models: readonly Map<string, FloatTensor>[], examples: number) => {
    let tasks = firstTasks.get(examples);
    if (tasks === undefined) {
      tasks = inputs.tasks.map((t) => ({ ...t, dataset: firstExamples(t.dataset, examples) }));
      firstTasks.set(examples, tasks);
    }
    const out: Evaluated[] = [];
    for (const m of models) out.push(await inputs.evaluateOn(m, base.spec, tasks));
    return out;
  };
  const evaluateOnFirst = inputs.evaluateManyOnFirst ?? evaluateInThread;
  const initialStateHash = await store.putBlob(encodeState(base.order, base.tensors), '.safetensors');
  const initial = await evaluateOne(base.tensors, base.spec);
  return {
    inputs,
    options: recordedOptions(plan),
    zooHashes: inputs.zoo.map((z) => ({ id: z.id, sha256: z.sha256 })),
    candidates: alignable,
    unalignable: unalignable.map(({ candidate, reason }) => ({
      candidate: { ...candidate, modelSha256: zooEntry(candidate.model).sha256 },
      reason,
    })),
    initial,
    initialStateHash,
    evaluateOne,
    evaluateOnFirst,
  };
}

/** The key a step's record is stored under: the hash of everything its result depends on. */
export function assemblyStepKey(prepared: PreparedAssembly, index: number, stateHash: string): string {
  return hashOf({
    version: 1,
    stateHash,
    index,
    options: prepared.options,
    zoo: prepared.zooHashes,
    backend: prepared.inputs.backend,
    // Present only with an ancestor, so the keys of runs without one stay what they were.
    ...(prepared.inputs.ancestor === undefined ? {} : { ancestor: prepared.inputs.ancestor.sha256 }),
  });
}

/**
 * One step on the state named `stateHash`: taken from the store when its record exists, computed and stored
 * otherwise. `state` saves decoding the state when the caller holds it already (the embedded loop).
 */
export async function runAssemblyStep(
  prepared: PreparedAssembly,
  at: {
    readonly index: number;
    readonly stateHash: string;
    readonly objective: number;
    readonly state?: Map<string, FloatTensor>;
  },
): Promise<AssemblyStepRun> {
  const { inputs } = prepared;
  const { plan, base, store, events } = inputs;
  const { index, stateHash, objective } = at;
  events?.stepStarted?.(index, plan.steps);
  const key = assemblyStepKey(prepared, index, stateHash);
  const record = await store.getRecord(key, isStepRecord);
  const resumedState =
    record === undefined ? undefined : await store.getBlob(record.step.stateAfter, '.safetensors');
  if (record !== undefined && resumedState !== undefined) {
    const step = record.step;
    const state = decodeState(resumedState, store.blobPath(step.stateAfter, '.safetensors'));
    events?.stepFinished?.(step, true);
    return { step, key, state, resumed: true };
  }
  let state = at.state ?? (await loadState(store, stateHash));
  const zooById = new Map(inputs.zoo.map((z) => [z.id, z]));
  const started = performance.now();
  const outcome = await assemblyStep({
    plan,
    base: { spec: base.spec, widths: base.widths, tensors: state, config: base.config },
    candidates: prepared.candidates,
    zooModel: async (id) => {
      const z = zooById.get(id);
      if (z === undefined) throw new RangeError(`no zoo model '${id}'`);
      return { ...z.model, sha256: z.sha256 };
    },
    tasks: inputs.tasks,
    initial: prepared.initial,
    objectiveBefore: objective,
    evaluate: inputs.evaluateMany,
    ancestor: inputs.ancestor?.tensors,
    alignCandidates: inputs.alignCandidates,
    evaluateOnFirst: prepared.evaluateOnFirst,
    evaluatePaths: inputs.evaluatePaths,
    statistics: stepStatistics(inputs),
    onProgress: events?.progress,
  });
  if (outcome.state !== undefined) state = outcome.state;
  const stateAfter =
    outcome.state === undefined
      ? stateHash
      : await store.putBlob(encodeState(base.order, state), '.safetensors');
  const step: LineageStep = {
    index,
    stateBefore: stateHash,
    stateAfter,
    objectiveBefore: objective,
    objectiveAfter: outcome.objectiveAfter,
    accepted: outcome.accepted,
    scored: outcome.scored,
    pruned: outcome.pruned,
    failed: outcome.failed,
    seconds: (performance.now() - started) / 1000,
  };
  await store.putRecord(key, { step } satisfies StepRecord);
  events?.stepFinished?.(step, false);
  return { step, key, state, resumed: false };
}

/**
 * The first `count` finished steps of a run, read back from their records (a run driven step by step from
 * elsewhere, such as a Temporal workflow, keeps only the state hash between steps), and the state after them.
 */
export async function storedAssemblySteps(
  prepared: PreparedAssembly,
  count: number,
): Promise<{ steps: LineageStep[]; state: Map<string, FloatTensor> }> {
  const { store } = prepared.inputs;
  const steps: LineageStep[] = [];
  let stateHash = prepared.initialStateHash;
  for (let index = 0; index < count; index++) {
    const key = assemblyStepKey(prepared, index, stateHash);
    const record = await store.getRecord(key, isStepRecord);
    if (record === undefined)
      throw new AssemblyStoreError(
        `step ${index + 1} of this run (key ${key}) has no record in the store; the store was changed or another plan's run wrote there — run the assembly again to recompute it`,
      );
    steps.push(record.step);
    stateHash = record.step.stateAfter;
  }
  return { steps, state: await loadState(store, stateHash) };
}

/**
 * Computes the baselines, calibrates the final state when the plan says so, evaluates the model to be written,
 * heals a copy of it when the plan says so (training, kept apart) and assembles the lineage. Nothing here changes
 * a step: the steps and their keys are the loop's.
 */
export async function finishAssembly(
  prepared: PreparedAssembly,
  steps: readonly LineageStep[],
  state: ReadonlyMap<string, FloatTensor>,
  stopReason: string,
): Promise<AssemblyResult> {
  const { inputs, evaluateOne } = prepared;
  const { plan, base } = inputs;
  const stateHash = steps.length === 0 ? prepared.initialStateHash : steps[steps.length - 1].stateAfter;
  const calibrate = plan.calibrate !== 'none';
  const logitsOn = logitsOnOf(inputs);
  // A language model's baselines are its loss per token; it has no output biases to re-fit.
  const compute = isTransformerFamily(base.spec.family) ? computeLanguageModelBaselines : computeBaselines;
  const { baselines, assembledCalibration } = await compute({
    tasks: inputs.tasks,
    report: inputs.report ?? [],
    base: { tensors: base.tensors, spec: base.spec },
    zoo: inputs.zoo.map((z) => ({ id: z.id, model: z.model })),
    assembled: { tensors: state, spec: base.spec },
    kind: plan.calibrate === 'none' ? 'biases' : plan.calibrate,
    writtenCalibrated: calibrate,
    logitsOn,
    onProgress: inputs.events?.baselines,
  });
  const uncalibrated = await evaluateOne(state, base.spec);
  const written = calibrate ? applyCalibrationToModel(state, base.spec, assembledCalibration) : state;
  const model = encodeState(base.order, written);
  const final = calibrate ? await evaluateOne(written, base.spec) : uncalibrated;
  const heal =
    plan.heal === false
      ? undefined
      : await healAssembly({
          settings: plan.heal,
          seed: plan.seed,
          tasks: inputs.tasks,
          report: inputs.report ?? [],
          examples: healExamples(inputs, plan.heal),
          base,
          zoo: inputs.zoo,
          steps,
          student: written,
          calibrate: plan.calibrate,
          teacherCalibration: baselines.calibration,
          logitsOn,
          onStep: inputs.events?.healStep,
        });
  const healBaseline = heal?.baseline;
  const allBaselines: Baselines =
    healBaseline === undefined
      ? baselines
      : {
          ...baselines,
          entries: [...baselines.entries, healBaseline],
          gapClosedHealed: gapClosed(
            { tasks: inputs.tasks, report: inputs.report ?? [] },
            [...baselines.entries, healBaseline],
            'assembled-healed',
          ),
        };
  const bestRaw = baselines.entries.find((e) => e.name === 'best-zoo');
  const bestZooModel: Lineage['bestZooModel'] =
    bestRaw === undefined ? undefined : { id: bestRaw.models[0], ...bestRaw.objective };
  return {
    model,
    ...(heal?.model === undefined ? {} : { healedModel: heal.model }),
    lineage: {
      version: 1,
      plan: plan.file,
      options: prepared.options,
      backend: inputs.backend,
      base: { path: base.path, sha256: base.sha256 },
      zoo: [...prepared.zooHashes],
      skipped: [...(inputs.skipped ?? [])],
      ...(prepared.unalignable.length === 0 ? {} : { unalignable: [...prepared.unalignable] }),
      tasks: inputs.tasks.map((t) => ({
        name: t.name,
        data: t.task.data,
        metric: t.task.metric,
        weight: t.task.weight,
        scoring: t.task.scoring,
      })),
      initial: prepared.initial,
      ...(bestZooModel === undefined ? {} : { bestZooModel }),
      steps: [...steps],
      final: { ...final, sha256: calibrate ? sha256(model) : stateHash },
      ...(calibrate
        ? {
            calibration: {
              kind: assembledCalibration.kind,
              temperature: assembledCalibration.temperature,
              biases: assembledCalibration.biases,
              fittedOn: inputs.tasks.map((t) => t.name),
              uncalibrated: { ...uncalibrated, sha256: stateHash },
            },
          }
        : {}),
      baselines: allBaselines,
      stopReason,
      ...(heal === undefined ? {} : { heal: heal.record }),
    },
  };
}

async function loadState(store: StepStore, stateHash: string): Promise<Map<string, FloatTensor>> {
  const bytes = await store.getBlob(stateHash, '.safetensors');
  if (bytes === undefined)
    throw new AssemblyStoreError(
      `the assembly state ${stateHash} is missing from the store (${store.blobPath(stateHash, '.safetensors')}); it was deleted or damaged — start the run again from its plan`,
    );
  return decodeState(bytes, store.blobPath(stateHash, '.safetensors'));
}

/** The step store lacks a state or step record a run depends on. */
export class AssemblyStoreError extends MalError {
  override readonly name = 'AssemblyStoreError';
}

/** The run's logits function; a model's config defaults to {} when the caller gives none. */
function logitsOnOf(inputs: AssemblyInputs): LogitsOn {
  return inputs.logitsOn ?? ((tensors, spec, dataset) => modelLogits(tensors, spec, dataset, {}));
}

/**
 * Language models are scored and written uncalibrated. Their head is tied to the token embedding and has no bias,
 * so re-fitting output biases would add a vocabulary-wide vector the model does not have (and a temperature,
 * the one calibration that fits, is left to the user); the plan must say so rather than get something else.
 * Other families pass.
 */
export function checkLanguageModelPlan(plan: AssemblyInputs['plan'], family: string): void {
  if (!isTransformerFamily(family)) return;
  if (plan.calibrate !== 'none') {
    throw new PlanError(
      `calibrate: the base is a ${family} language model, which is not calibrated (its head is tied to the token embedding and has no output biases to re-fit); set calibrate: none`,
    );
  }
  const calibrated = plan.objective.tasks.findIndex((task) => task.scoring !== 'raw');
  if (calibrated >= 0) {
    throw new PlanError(
      `objective.tasks[${calibrated}].scoring: a ${family} language model is scored raw (mean cross-entropy per token, perplexity), not after a calibration; set scoring: raw`,
    );
  }
}

/**
 * The final calibration is fitted on every task's data together; a class none of them holds would get a shift
 * without a finite optimum (pushed down until the fit stops), and the written model would never predict it.
 */
function checkCalibrationData(inputs: AssemblyInputs): void {
  const { bias } = outputLayerTensors(inputs.base.spec);
  const classes = inputs.base.tensors.get(bias)?.data.length;
  if (classes === undefined || inputs.tasks.length === 0) return;
  const perTask = inputs.tasks.map((t) => new Set(classesWithoutExamples(t.dataset.labels, classes)));
  const missing = new Set(Array.from(perTask[0]).filter((c) => perTask.every((set) => set.has(c))));
  if (missing.size > 0)
    throw new PlanError(
      `calibrate: the objective tasks' data holds no example of class${missing.size === 1 ? '' : 'es'} ${[...missing].join(', ')} of the base's ${classes}; a calibration fitted there would make the written model all but never predict ${missing.size === 1 ? 'it' : 'them'}: give objective data with every class, or calibrate: none`,
    );
}

/**
 * Runs the base on the first example of every data set the run reads only after a step (statistics, heal's
 * examples, report data), so one whose examples do not fit the base's input is refused before the loop, naming
 * its field, instead of failing every candidate (statistics) or the run after its last step (heal, report).
 */
async function checkExamplesFitBase(inputs: AssemblyInputs): Promise<void> {
  const { plan, base } = inputs;
  const logitsOn = logitsOnOf(inputs);
  const sets: { field: string; dataset: Dataset }[] = [
    ...(inputs.statistics === undefined ? [] : [{ field: 'statistics.data', dataset: inputs.statistics }]),
    ...(plan.heal === false || inputs.healExamples === undefined
      ? []
      : [{ field: `heal examples (${inputs.healExamples.source})`, dataset: inputs.healExamples.dataset }]),
    ...(inputs.report ?? []).map((r, i) => ({ field: `report[${i}]`, dataset: r.dataset })),
  ];
  for (const { field, dataset } of sets) {
    if (dataset.count === 0) throw new PlanError(`${field}: data set '${dataset.name}' is empty`);
    try {
      await logitsOn(base.tensors, base.spec, firstExamples(dataset, 1));
    } catch (error) {
      if (!(error instanceof MalError)) throw error;
      throw new PlanError(
        `${field}: the base cannot read the examples of '${dataset.name}' (shape [${dataset.exampleShape.join(', ')}]): ${error.message}; give data of the base's input shape`,
      );
    }
  }
}

function firstExamples(dataset: Dataset, count: number): Dataset {
  if (count >= dataset.count) return dataset;
  const size = dataset.features.length / dataset.count;
  return {
    ...dataset,
    count,
    features: dataset.features.subarray(0, count * size),
    labels: dataset.labels.subarray(0, count),
  };
}

/** The options that decide every step's result, as recorded in the lineage. */
export function recordedOptions(plan: AssemblyPlan): Record<string, unknown> {
  return {
    objective: plan.objective,
    candidates: plan.candidates,
    alignment: plan.alignment,
    merge: plan.merge,
    steps: plan.steps,
    seed: plan.seed,
  };
}

/** The examples heal distils on: the loaded ones, else the first task's data (after its limit), limited to heal.examples. */
function healExamples(inputs: AssemblyInputs, settings: HealSettings): { source: string; dataset: Dataset } {
  if (inputs.healExamples !== undefined) return inputs.healExamples;
  const first = inputs.tasks[0];
  return {
    source: first.task.data,
    dataset:
      settings.examples === undefined ? first.dataset : firstExamples(first.dataset, settings.examples),
  };
}

/** The examples activation matching, REPAIR and RegMean measure on, when the plan uses any (plan field `statistics`). */
function stepStatistics(inputs: AssemblyInputs): Dataset | undefined {
  const { plan } = inputs;
  if (plan.alignment.match !== 'activations' && plan.merge.repair !== 'repair' && !plan.merge.regmean)
    return undefined;
  const data = inputs.statistics ?? inputs.tasks[0]?.dataset;
  return data === undefined ? undefined : firstExamples(data, plan.statistics.examples);
}
