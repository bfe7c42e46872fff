import type { Dataset } from '../data/dataset.js';
import { hashOf, type StepStore } from '../store/content-store.js';
import type { FloatTensor } from '../tensor/tensor.js';
import type { AssemblyPlan } from './assembly-plan.js';
import { assemblyStep, type EvaluateModels } from './assembly-step.js';
import type { ModelInMemory } from './candidate-alignment.js';
import { generateCandidates } from './candidates.js';
import type { Evaluated, Lineage, LineageStep } from './lineage.js';
import { decodeState, encodeState } from './model-state.js';
import type { LoadedTask } from './objective-evaluation.js';

export interface AssemblyEvents {
  stepStarted?(index: number, budget: number): void;
  progress?(phase: 'align' | 'score', done: number, total: number, candidate: string): void;
  /** `resumed`: the step's result was found in the store and not recomputed. */
  stepFinished?(step: LineageStep, resumed: boolean): void;
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
  readonly events?: AssemblyEvents;
}

export interface AssemblyResult {
  readonly lineage: Lineage;
  /** The assembled model as safetensors bytes (float32, the base's tensor order). */
  readonly model: Uint8Array;
}

/** What a step's result depends on: a change to any of these makes it a different step. */
interface StepRecord {
  readonly step: LineageStep;
}

/**
 * The assembly loop of MAL §6. Every step is a deterministic function of the state's hash, the zoo's hashes and
 * the options; its result is stored under the hash of those inputs, so a run killed at any point and started
 * again skips finished steps and ends with the same bytes.
 */
export async function runAssembly(inputs: AssemblyInputs): Promise<AssemblyResult> {
  const { plan, base, store, events } = inputs;
  const options = recordedOptions(plan);
  const zooHashes = inputs.zoo.map((z) => ({ id: z.id, sha256: z.sha256 }));
  const zooById = new Map(inputs.zoo.map((z) => [z.id, z]));
  const candidates = generateCandidates(
    base.spec,
    inputs.zoo.map((z) => ({ id: z.id, spec: z.model.spec })),
    plan.candidates,
  );

  const evaluateOne = (tensors: ReadonlyMap<string, FloatTensor>, spec: ModelInMemory['spec']) =>
    inputs.evaluateOn(tensors, spec, inputs.tasks);
  const probeTasks = inputs.tasks.map((t) => ({
    ...t,
    dataset: firstExamples(t.dataset, plan.candidates.probeExamples),
  }));
  const evaluateProbe = async (models: readonly Map<string, FloatTensor>[]) => {
    const out: Evaluated[] = [];
    for (const m of models) out.push(await inputs.evaluateOn(m, base.spec, probeTasks));
    return out;
  };

  let state = new Map(base.tensors);
  let stateHash = await store.putBlob(encodeState(base.order, state), '.safetensors');
  const initial = await evaluateOne(state, base.spec);
  let objective = initial.objective;
  const steps: LineageStep[] = [];
  let stopReason = `the step budget (${plan.steps}) is spent`;

  for (let index = 0; index < plan.steps; index++) {
    events?.stepStarted?.(index, plan.steps);
    const key = hashOf({ version: 1, stateHash, index, options, zoo: zooHashes, backend: inputs.backend });
    const record = await store.getRecord<StepRecord>(key);
    const resumedState =
      record === undefined ? undefined : await store.getBlob(record.step.stateAfter, '.safetensors');
    let step: LineageStep;
    if (record !== undefined && resumedState !== undefined) {
      step = record.step;
      state = decodeState(resumedState, store.blobPath(step.stateAfter, '.safetensors'));
      events?.stepFinished?.(step, true);
    } else {
      const started = performance.now();
      const outcome = await assemblyStep({
        plan,
        base: { spec: base.spec, widths: base.widths, tensors: state },
        candidates,
        zooModel: async (id) => {
          const z = zooById.get(id);
          if (z === undefined) throw new RangeError(`no zoo model '${id}'`);
          return { ...z.model, sha256: z.sha256 };
        },
        tasks: inputs.tasks,
        initial,
        objectiveBefore: objective,
        evaluate: inputs.evaluateMany,
        evaluateProbe,
        onProgress: events?.progress,
      });
      if (outcome.state !== undefined) state = outcome.state;
      const stateAfter =
        outcome.state === undefined
          ? stateHash
          : await store.putBlob(encodeState(base.order, state), '.safetensors');
      step = {
        index,
        stateBefore: stateHash,
        stateAfter,
        objectiveBefore: objective,
        objectiveAfter: outcome.accepted?.objectiveAtLambda ?? objective,
        accepted: outcome.accepted,
        scored: outcome.scored,
        pruned: outcome.pruned,
        failed: outcome.failed,
        seconds: (performance.now() - started) / 1000,
      };
      await store.putRecord(key, { step } satisfies StepRecord);
      events?.stepFinished?.(step, false);
    }
    steps.push(step);
    stateHash = step.stateAfter;
    objective = step.objectiveAfter;
    if (step.accepted === null) {
      stopReason = 'no candidate improved the objective';
      break;
    }
  }

  const model = encodeState(base.order, state);
  const final = await evaluateOne(state, base.spec);
  let bestZooModel: Lineage['bestZooModel'];
  for (const z of inputs.zoo) {
    if (z.model.spec.family !== base.spec.family) continue;
    const e = await evaluateOne(z.model.tensors, z.model.spec);
    if (bestZooModel === undefined || e.objective < bestZooModel.objective) bestZooModel = { id: z.id, ...e };
  }
  return {
    model,
    lineage: {
      version: 1,
      plan: plan.file,
      options,
      backend: inputs.backend,
      base: { path: base.path, sha256: base.sha256 },
      zoo: zooHashes,
      tasks: inputs.tasks.map((t) => ({
        name: t.name,
        data: t.task.data,
        metric: t.task.metric,
        weight: t.task.weight,
      })),
      initial,
      ...(bestZooModel === undefined ? {} : { bestZooModel }),
      steps,
      final: { ...final, sha256: stateHash },
      stopReason,
    },
  };
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
