import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { AssemblyPlan } from '../assembly/assembly-plan.js';
import type { ReportData } from '../assembly/baselines.js';
import type { ModelInMemory } from '../assembly/candidate-alignment.js';
import type { Evaluated } from '../assembly/lineage.js';
import {
  evaluatedOf,
  evaluateOnTasks,
  type LoadedTask,
  scoringOf,
} from '../assembly/objective-evaluation.js';
import { type AssemblyInputs, checkLanguageModelPlan } from '../assembly/run-assembly.js';
import type { PlanValidation } from '../assembly/validate-plan.js';
import type { BackendInfo } from '../compute/backend.js';
import { MalError } from '../errors.js';
import { evaluateTensorsScored } from '../eval/calibrated-evaluation.js';
import type { Evaluation } from '../eval/evaluate.js';
import type { ForwardConfig } from '../eval/forward.js';
import { forwardConfigOf, loadDatasetForModel } from '../eval/model-evaluation.js';
import { modelLogits } from '../eval/model-logits.js';
import { checkAncestorFits } from '../merge/ancestor.js';
import { type LoadedModel, loadModel, readFiniteFloatTensors } from '../model/load-model.js';
import { ContentStore, sha256 } from '../store/content-store.js';
import type { FloatTensor } from '../tensor/tensor.js';
import { createEvaluator, type Evaluator } from './evaluation-pool.js';

/** Everything a run needs, loaded once, plus what must be released after it. */
export interface EmbeddedAssembly {
  readonly inputs: Omit<AssemblyInputs, 'events'>;
  readonly base: LoadedModel;
  close(): Promise<void>;
}

/**
 * The embedded engine: one process, the base, zoo and data in memory, the store a folder in the output, and model
 * evaluations on a Piscina pool sized to the cores (used when the first evaluation shows threads pay off).
 */
export async function openEmbeddedAssembly(
  plan: AssemblyPlan,
  validation: PlanValidation,
  backend: BackendInfo,
): Promise<EmbeddedAssembly> {
  const opened: LoadedModel[] = [];
  const evaluators: Evaluator[] = [];
  const close = async (): Promise<void> => {
    for (const e of evaluators) await e.close();
    for (const m of opened) await m.source.close();
  };
  try {
    const base = await loadModel(plan.base);
    opened.push(base);
    // Before the step store is opened, so a plan refused for a language model leaves no output folder behind.
    checkLanguageModelPlan(plan, base.spec.family);
    const config = forwardConfigOf(base);
    const tasks: LoadedTask[] = [];
    for (const [i, task] of plan.objective.tasks.entries()) {
      const dataset = await loadDatasetForModel(base, task.data, {
        dataDir: plan.data.dataDir,
        limit: task.limit,
      });
      const repeated = plan.objective.tasks.filter((t) => t.data === task.data).length > 1;
      tasks.push({ name: repeated ? `${task.data}#${i}` : task.data, task, dataset });
    }
    const report: ReportData[] = [];
    for (const source of plan.report)
      report.push({
        name: source,
        dataset: await loadDatasetForModel(base, source, { dataDir: plan.data.dataDir }),
      });
    const zoo: { id: string; sha256: string; model: ModelInMemory; config: ForwardConfig }[] = [];
    const skipped = [...validation.skipped];
    for (const entry of validation.zooModels) {
      // A zoo model whose weights cannot be read (corrupt bytes, NaN or Inf) is left out with the reason; the run goes on.
      try {
        const model = await loadModel(entry.path);
        opened.push(model);
        const tensors = await readFiniteFloatTensors(model, model.source.tensorNames());
        zoo.push({
          id: entry.id,
          sha256: entry.sha256,
          model: { spec: model.spec, widths: model.widths, tensors, config: forwardConfigOf(model) },
          config: forwardConfigOf(model),
        });
      } catch (error) {
        if (!(error instanceof MalError)) throw error;
        skipped.push({ id: entry.id, reason: error.message });
      }
    }
    for (const t of tasks) {
      const scoring = scoringOf(t.task);
      evaluators.push(
        await createEvaluator({
          threads: availableParallelism(),
          parallel: 'auto',
          backend: backend.name,
          spec: base.spec,
          config,
          batchSize: 1000,
          scoring,
          evaluateInProcess: (tensors, data) =>
            evaluateTensorsScored(tensors, base.spec, data, config, scoring, 1000),
        }),
      );
    }
    const ancestor =
      plan.merge.ancestor === undefined ? undefined : await loadAncestor(plan.merge.ancestor, base);
    // Heal's examples when they are not the first task's: its own data, else the statistics' (all of them,
    // not the statistics' limit).
    const healSource = plan.heal === false ? undefined : (plan.heal.data ?? plan.statistics.data);
    const configOf = (spec: ModelInMemory['spec']): ForwardConfig =>
      spec === base.spec ? config : (zoo.find((z) => z.model.spec === spec)?.config ?? {});
    const inputs: Omit<AssemblyInputs, 'events'> = {
      plan,
      base: {
        path: base.path,
        sha256: sha256(await readFile(base.source.path)),
        order: base.source.tensorNames(),
        spec: base.spec,
        widths: base.widths,
        tensors: await readFiniteFloatTensors(base, base.source.tensorNames()),
        config,
      },
      zoo: zoo.map((z) => ({ id: z.id, sha256: z.sha256, model: z.model })),
      skipped,
      tasks,
      report,
      logitsOn: (tensors, spec, dataset) => modelLogits(tensors, spec, dataset, configOf(spec)),
      ...(plan.statistics.data === undefined
        ? {}
        : {
            statistics: await loadDatasetForModel(base, plan.statistics.data, {
              dataDir: plan.data.dataDir,
              limit: plan.statistics.examples,
            }),
          }),
      ...(healSource === undefined || plan.heal === false
        ? {}
        : {
            healExamples: {
              source: healSource,
              dataset: await loadDatasetForModel(base, healSource, {
                dataDir: plan.data.dataDir,
                limit: plan.heal.examples,
              }),
            },
          }),
      ...(ancestor === undefined ? {} : { ancestor }),
      backend: backend.name,
      store: await ContentStore.open(join(plan.output, 'store')),
      evaluateOn: (tensors, spec, on) => evaluateOnTasks(tensors, spec, configOf(spec), on),
      evaluateMany: async (models) => {
        const perTask: Evaluation[][] = [];
        for (const [i, t] of tasks.entries())
          perTask.push(await evaluators[i].evaluateAll(models, t.dataset));
        return models.map(
          (_, m): Evaluated =>
            evaluatedOf(
              tasks,
              tasks.map((t, i) => ({
                name: t.name,
                loss: perTask[i][m].loss,
                accuracy: perTask[i][m].accuracy,
              })),
            ),
        );
      },
    };
    return { inputs, base, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** The plan's common ancestor (validatePlan checked that it holds every base tensor in the base's shape). */
async function loadAncestor(
  path: string,
  base: LoadedModel,
): Promise<{ sha256: string; tensors: Map<string, FloatTensor> }> {
  const ancestor = await loadModel(path);
  try {
    checkAncestorFits(base, ancestor, base.source.tensorNames(), `merge.ancestor ${path}`);
    return {
      sha256: sha256(await readFile(ancestor.source.path)),
      tensors: await readFiniteFloatTensors(ancestor, base.source.tensorNames()),
    };
  } finally {
    await ancestor.source.close();
  }
}
