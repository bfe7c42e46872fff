import { scoringOf } from '../../src/assembly/objective-evaluation.js';
import { planMergeChoice } from '../../src/assembly/plan-merge.js';
import {
  type AssemblyEvents,
  type AssemblyInputs,
  type PreparedAssembly,
  prepareAssembly,
} from '../../src/assembly/run-assembly.js';
import { openEmbeddedAssembly } from '../../src/engine/embedded-assembly.js';
import { loadAssemblyRun } from '../../src/engine/load-assembly-run.js';
import { UsageError } from '../../src/errors.js';
import { forwardConfigOf } from '../../src/eval/model-evaluation.js';
import { isTransformerFamily } from '../../src/eval/transformer-settings.js';
import type { ArchitectureSpec } from '../../src/spec/architecture-spec.js';
import type { StepStore } from '../../src/store/content-store.js';
import type { AssemblyRunRef } from '../../workflows/assembly-types.js';
import { natsConnectionOptions } from '../nats/connection-options.js';
import { NatsTaskDispatcher } from '../nats/task-dispatcher.js';

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

/**
 * Where step evaluations run: `local` in this process's thread pool; `nats` on the task-worker pools
 * (`mal worker --pool …`), through NATS: candidate alignments (activation matching's examples travel by hash), and
 * the ranking's probes and the λ curves as curve tasks, each merge built on a worker from the base, the zoo model
 * and the maps. With merge.ancestor or REPAIR the merges are built in the activity's process and only their
 * evaluations travel.
 */
export type TaskPlacement = 'local' | 'nats';

export const TASKS_ENV = 'MAL_TASKS';

export function taskPlacementFromEnv(env: NodeJS.ProcessEnv = process.env): TaskPlacement {
  const value = env[TASKS_ENV] ?? 'local';
  if (value === 'local' || value === 'nats') return value;
  throw new UsageError(`${TASKS_ENV} must be 'local' or 'nats', got '${value}'`);
}

/** Which task-worker pool receives the evaluations when MAL_TASKS=nats (default `cpu`). */
export const TASK_POOL_ENV = 'MAL_TASK_POOL';

export async function openAssemblySession(ref: AssemblyRunRef, store?: StepStore): Promise<AssemblySession> {
  const placement = taskPlacementFromEnv();
  const { plan, validation, backend } = await loadAssemblyRun(ref.plan, ref);
  const engine = await openEmbeddedAssembly(plan, validation, backend);
  let dispatcher: NatsTaskDispatcher | undefined;
  const close = async (): Promise<void> => {
    await dispatcher?.close();
    await engine.close();
  };
  try {
    let evaluateMany = engine.inputs.evaluateMany;
    let alignCandidates: AssemblyInputs['alignCandidates'];
    let evaluateManyOnFirst: AssemblyInputs['evaluateManyOnFirst'];
    let evaluatePaths: AssemblyInputs['evaluatePaths'];
    if (placement === 'nats') {
      const nats = await NatsTaskDispatcher.connect({
        connection: natsConnectionOptions(),
        pool: process.env[TASK_POOL_ENV] ?? 'cpu',
        backend: backend.name,
      });
      dispatcher = nats;
      const config = forwardConfigOf(engine.base);
      // A language model's text is tokenized here, with the base folder's tokenizer, and sent by hash.
      const lm = isTransformerFamily(engine.base.spec.family);
      const tasks = await Promise.all(
        engine.inputs.tasks.map(async (t) => ({
          name: t.name,
          data: t.task.data,
          ...(lm ? { text: await nats.uploadTokenSequences(t.dataset) } : {}),
          limit: t.task.limit,
          metric: t.task.metric,
          weight: t.task.weight,
          scoring: scoringOf(t.task),
        })),
      );
      evaluateMany = (models) => nats.evaluateMany(models, engine.base.spec, config, tasks);
      // The ranking's probes (successive halving, the probe) on the first examples: the same evaluation on a
      // shorter range, so the workers load the data up to it as this process's first-examples view does.
      evaluateManyOnFirst = (models, examples) =>
        nats.evaluateMany(
          models,
          engine.base.spec,
          config,
          tasks.map((t) => ({ ...t, limit: Math.min(t.limit ?? examples, examples) })),
        );
      const zooById = new Map(engine.inputs.zoo.map((z) => [z.id, z.model]));
      const zooModel = (id: string) => {
        const model = zooById.get(id);
        if (model === undefined) throw new RangeError(`no zoo model '${id}'`);
        return model;
      };
      // Merges built on the workers: the plan's method and seed travel, and RegMean's statistics examples (by
      // hash); an ancestor or REPAIR keep the merges in this process, their evaluations sent.
      if (plan.merge.ancestor === undefined && plan.merge.repair !== 'repair') {
        const merge = {
          kernel: plan.alignment.kernel,
          method: planMergeChoice(plan.merge),
          seed: plan.seed,
        };
        evaluatePaths = (base, requests, examples, regmean) =>
          nats.evaluateCurves(
            base,
            zooModel,
            requests,
            regmean === undefined ? merge : { ...merge, regmean },
            tasks,
            examples,
          );
      }
      alignCandidates = (base, candidates, statistics) =>
        nats.alignCandidates(base, zooModel, candidates, plan.alignment, plan.seed, statistics);
    }
    let listener: AssemblyEvents | undefined;
    const prepared = await prepareAssembly({
      ...engine.inputs,
      store: store ?? engine.inputs.store,
      evaluateMany,
      alignCandidates,
      evaluateManyOnFirst,
      evaluatePaths,
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
      baseSpec: engine.base.spec,
      baseLayerOrder: engine.base.source.tensorNames(),
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
