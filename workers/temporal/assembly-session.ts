import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { ModelInMemory } from '../../src/assembly/candidate-alignment.js';
import type { Evaluated } from '../../src/assembly/lineage.js';
import { evaluateOnTasks, type LoadedTask, objectiveOf } from '../../src/assembly/objective-evaluation.js';
import { loadPlanFile } from '../../src/assembly/plan-file.js';
import {
  type AssemblyEvents,
  type PreparedAssembly,
  prepareAssembly,
} from '../../src/assembly/run-assembly.js';
import { validatePlan } from '../../src/assembly/validate-plan.js';
import { type BackendPreference, initBackend, isBackendPreference } from '../../src/compute/backend.js';
import { MalError, UsageError } from '../../src/errors.js';
import type { Evaluation } from '../../src/eval/evaluate.js';
import type { ForwardConfig } from '../../src/eval/forward.js';
import { evaluateTensors, forwardConfigOf, loadDatasetFor } from '../../src/eval/model-evaluation.js';
import { type LoadedModel, loadModel, readFiniteFloatTensors } from '../../src/model/load-model.js';
import type { ArchitectureSpec } from '../../src/spec/architecture-spec.js';
import { ContentStore, type StepStore, sha256 } from '../../src/store/content-store.js';
import type { AssemblyRunRef } from '../../workflows/assembly-types.js';
import { createEvaluator, type Evaluator } from '../evaluation-pool.js';

/**
 * A run's loaded plan, models, data and evaluators, prepared once in a worker process and reused by every step
 * activity of the run; loading the zoo per step would cost more than many steps. The same loading as
 * `mal assemble`, so the same plan gives the same bytes.
 */
export interface AssemblySession {
  readonly ref: AssemblyRunRef;
  readonly prepared: PreparedAssembly;
  readonly baseSpec: ArchitectureSpec;
  readonly baseLayerOrder: readonly string[];
  readonly plan: PreparedAssembly['inputs']['plan'];
  /** Receives the events of the step that runs now (for heartbeats); one step runs at a time per session. */
  listen(events: AssemblyEvents | undefined): void;
  close(): Promise<void>;
}

/** Where step evaluations run: `local` in this process's thread pool; `nats` on the task-worker pools. */
export type TaskPlacement = 'local' | 'nats';

export const TASKS_ENV = 'MAL_TASKS';

export function taskPlacementFromEnv(env: NodeJS.ProcessEnv = process.env): TaskPlacement {
  const value = env[TASKS_ENV] ?? 'local';
  if (value === 'local' || value === 'nats') return value;
  throw new UsageError(`${TASKS_ENV} must be 'local' or 'nats', got '${value}'`);
}

/** The NATS task dispatcher is not wired in yet; a worker asked for it says so instead of evaluating locally. */
export class TaskPlacementUnavailableError extends MalError {
  override readonly name = 'TaskPlacementUnavailableError';
}

export async function openAssemblySession(ref: AssemblyRunRef, store?: StepStore): Promise<AssemblySession> {
  if (taskPlacementFromEnv() === 'nats')
    throw new TaskPlacementUnavailableError(
      `${TASKS_ENV}=nats: evaluation through the NATS task pools (NatsTaskDispatcher.evaluateMany) is not wired into the Temporal activities yet; unset ${TASKS_ENV} to evaluate in the Temporal worker`,
    );
  const plan0 = await loadPlanFile(ref.plan);
  const backendArg = ref.backend ?? (plan0.backend === 'auto' ? undefined : plan0.backend);
  if (backendArg !== undefined && !isBackendPreference(backendArg))
    throw new UsageError(`unknown backend '${backendArg}'`);
  const plan = {
    ...plan0,
    output: ref.output,
    base: ref.base ?? plan0.base,
    zoo: ref.zoo === undefined ? plan0.zoo : { ...plan0.zoo, path: ref.zoo },
  };
  const validation = await validatePlan(plan);
  const backend = await initBackend((backendArg as BackendPreference | undefined) ?? undefined);

  const base = await loadModel(plan.base);
  const zooModels: LoadedModel[] = [];
  const evaluators: Evaluator[] = [];
  const close = async (): Promise<void> => {
    for (const e of evaluators) await e.close();
    await base.source.close();
    for (const m of zooModels) await m.source.close();
  };
  try {
    const baseTensors = await readFiniteFloatTensors(base, base.source.tensorNames());
    const config = forwardConfigOf(base);
    const tasks: LoadedTask[] = [];
    for (const [i, task] of plan.objective.tasks.entries()) {
      const dataset = await loadDatasetFor(base.spec, task.data, {
        dataDir: plan.data.dataDir,
        limit: task.limit,
      });
      tasks.push({
        name:
          plan.objective.tasks.filter((t) => t.data === task.data).length > 1
            ? `${task.data}#${i}`
            : task.data,
        task,
        dataset,
      });
    }
    const zoo: { id: string; sha256: string; model: ModelInMemory; config: ForwardConfig }[] = [];
    for (const entry of validation.zooModels) {
      const model = await loadModel(entry.path);
      zooModels.push(model);
      zoo.push({
        id: entry.id,
        sha256: entry.sha256,
        model: {
          spec: model.spec,
          widths: model.widths,
          tensors: await readFiniteFloatTensors(model, model.source.tensorNames()),
        },
        config: forwardConfigOf(model),
      });
    }
    const evaluatorOf = new Map<LoadedTask, Evaluator>();
    for (const t of tasks) {
      const evaluator = await createEvaluator({
        threads: availableParallelism(),
        parallel: 'auto',
        backend: backend.name,
        spec: base.spec,
        config,
        batchSize: 1000,
        evaluateInProcess: (tensors, data) => evaluateTensors(tensors, base.spec, data, config),
      });
      evaluators.push(evaluator);
      evaluatorOf.set(t, evaluator);
    }
    let listener: AssemblyEvents | undefined;
    const prepared = await prepareAssembly({
      plan,
      base: {
        path: base.path,
        sha256: sha256(await readFile(base.source.path)),
        order: base.source.tensorNames(),
        spec: base.spec,
        widths: base.widths,
        tensors: baseTensors,
      },
      zoo: zoo.map((z) => ({ id: z.id, sha256: z.sha256, model: z.model })),
      tasks,
      backend: backend.name,
      store: store ?? (await ContentStore.open(join(ref.output, 'store'))),
      evaluateOn: (tensors, spec, on) =>
        evaluateOnTasks(
          tensors,
          spec,
          spec === base.spec ? config : (zoo.find((z) => z.model.spec === spec)?.config ?? {}),
          on,
        ),
      evaluateMany: async (models) => {
        const perTask: Evaluation[][] = [];
        for (const t of tasks) {
          const evaluator = evaluatorOf.get(t);
          if (evaluator === undefined) throw new RangeError(`no evaluator for task ${t.name}`);
          perTask.push(await evaluator.evaluateAll(models, t.dataset));
        }
        return models.map((_, m): Evaluated => {
          const results = tasks.map((t, i) => ({
            name: t.name,
            loss: perTask[i][m].loss,
            accuracy: perTask[i][m].accuracy,
          }));
          return { objective: objectiveOf(tasks, results), tasks: results };
        });
      },
      events: {
        stepStarted: (index, budget) => listener?.stepStarted?.(index, budget),
        progress: (phase, done, total, candidate) => listener?.progress?.(phase, done, total, candidate),
        stepFinished: (step, resumed) => listener?.stepFinished?.(step, resumed),
      },
    });
    return {
      ref,
      prepared,
      plan,
      baseSpec: base.spec,
      baseLayerOrder: base.source.tensorNames(),
      listen: (events) => {
        listener = events;
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
