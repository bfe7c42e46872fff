import { mkdir, readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { createEvaluator } from '../../../workers/evaluation-pool.js';
import type { ModelInMemory } from '../../assembly/candidate-alignment.js';
import type { Evaluated } from '../../assembly/lineage.js';
import { evaluateOnTasks, type LoadedTask, objectiveOf } from '../../assembly/objective-evaluation.js';
import { loadPlanFile } from '../../assembly/plan-file.js';
import { runAssembly } from '../../assembly/run-assembly.js';
import { transplantUnits } from '../../assembly/transplant-units.js';
import { validatePlan } from '../../assembly/validate-plan.js';
import {
  BACKEND_PREFERENCES,
  type BackendPreference,
  describeBackend,
  initBackend,
  isBackendPreference,
} from '../../compute/backend.js';
import { UsageError } from '../../errors.js';
import type { Evaluation } from '../../eval/evaluate.js';
import type { ForwardConfig } from '../../eval/forward.js';
import { evaluateTensors, forwardConfigOf, loadDatasetFor } from '../../eval/model-evaluation.js';
import { writeFileAtomic } from '../../io/atomic-file.js';
import { type LoadedModel, loadModel, readFiniteFloatTensors } from '../../model/load-model.js';
import { renderAssemblyReport } from '../../report/assembly-report.js';
import { renderModelCard } from '../../report/model-card.js';
import { serializeSpec } from '../../spec/spec-file.js';
import { ContentStore, sha256 } from '../../store/content-store.js';
import type { Command } from '../command.js';
import { progressBar } from '../progress-bar.js';

export const assembleCommand: Command = {
  name: 'assemble',
  summary:
    'Assemble: the base absorbs, step by step, layers from the zoo that improve the objective (MAL §6). Writes the assembled model, its spec, lineage.json, a model card and an HTML report to the output folder; a rerun resumes from the last finished step.',
  positionals: ['plan'],
  options: {
    out: { type: 'string', valueName: 'dir', description: "output folder (default: the plan's output)" },
    backend: {
      type: 'string',
      valueName: BACKEND_PREFERENCES.join('|'),
      description: "TensorFlow.js backend (default: the plan's, else $MAL_BACKEND, else auto)",
    },
    json: { type: 'boolean', description: 'print one JSON event per line on stdout instead of the summary' },
  },
  async run(args, io) {
    const plan0 = await loadPlanFile(args.positionals[0]);
    const output = args.strings.get('out') ?? plan0.output;
    const backendArg = args.strings.get('backend') ?? (plan0.backend === 'auto' ? undefined : plan0.backend);
    if (backendArg !== undefined && !isBackendPreference(backendArg))
      throw new UsageError(`unknown backend '${backendArg}'`);
    const plan = { ...plan0, output };
    const json = args.flags.has('json');
    const emit = (event: Record<string, unknown>): void => {
      if (json) io.out(JSON.stringify(event));
    };

    const validation = await validatePlan(plan);
    const backend = await initBackend((backendArg as BackendPreference | undefined) ?? undefined);
    emit({
      event: 'validated',
      plan: plan.file,
      zoo: validation.zooModels.length,
      skipped: validation.skipped,
      backend: backend.name,
    });
    if (!json) {
      io.err(
        `plan ${plan.file}: ${validation.zooModels.length} zoo models, ${validation.skipped.length} skipped; ${describeBackend(backend)}`,
      );
      for (const s of validation.skipped) io.err(`  skipped ${s.id}: ${s.reason}`);
    }

    const base = await loadModel(plan.base);
    const zooModels: LoadedModel[] = [];
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
      const evaluators = new Map<LoadedTask, Awaited<ReturnType<typeof createEvaluator>>>();
      for (const t of tasks) {
        evaluators.set(
          t,
          await createEvaluator({
            threads: availableParallelism(),
            parallel: 'auto',
            backend: backend.name,
            spec: base.spec,
            config,
            batchSize: 1000,
            evaluateInProcess: (tensors, data) => evaluateTensors(tensors, base.spec, data, config),
          }),
        );
      }
      const store = await ContentStore.open(join(output, 'store'));
      const started = performance.now();
      let phaseStarted = performance.now();
      let lastPhase = '';
      try {
        const result = await runAssembly({
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
          store,
          evaluateOn: (tensors, spec, on) =>
            evaluateOnTasks(
              tensors,
              spec,
              spec === base.spec ? config : (zoo.find((z) => z.model.spec === spec)?.config ?? {}),
              on,
            ),
          evaluateMany: async (models) => {
            const perTask: Evaluation[][] = [];
            for (const t of tasks) perTask.push(await evaluators.get(t)!.evaluateAll(models, t.dataset));
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
            stepStarted: (index, budget) => {
              emit({ event: 'step-started', step: index, budget });
              io.progress(`step ${index + 1}/${budget}: aligning candidates`);
            },
            progress: (phase, done, total, candidate) => {
              if (phase !== lastPhase) {
                phaseStarted = performance.now();
                lastPhase = phase;
              }
              emit({ event: 'candidate', phase, done, total, candidate });
              io.progress(
                `${phase === 'align' ? 'aligning' : 'scoring '} ${progressBar(done, total, phaseStarted, performance.now())} ${candidate}`,
              );
            },
            stepFinished: (step, resumed) => {
              lastPhase = '';
              emit({
                event: 'step-finished',
                step: step.index,
                resumed,
                accepted: step.accepted?.candidate ?? null,
                lambda: step.accepted?.lambda ?? null,
                objectiveBefore: step.objectiveBefore,
                objectiveAfter: step.objectiveAfter,
                stateAfter: step.stateAfter,
              });
              if (!json) {
                const a = step.accepted;
                io.err(
                  `step ${step.index + 1}${resumed ? ' (resumed from the store)' : ''}: ${a === null ? 'nothing improved the objective' : `${a.candidate.model} ${a.candidate.layers.join('+')} → ${a.candidate.baseLayers.join('+')} at λ = ${a.lambda} (λ* = ${a.threshold})`}; objective ${step.objectiveBefore.toFixed(4)} → ${step.objectiveAfter.toFixed(4)}`,
                );
              }
            },
          },
        });
        await mkdir(output, { recursive: true });
        const modelPath = join(output, 'model.safetensors');
        await writeFileAtomic(modelPath, result.model);
        await writeFileAtomic(join(output, 'spec.json'), serializeSpec(base.spec));
        await writeFileAtomic(join(output, 'lineage.json'), `${JSON.stringify(result.lineage, null, 2)}\n`);
        await writeFileAtomic(join(output, 'README.md'), renderModelCard(result.lineage, plan));
        const reportPath = join(output, 'report.html');
        await writeFileAtomic(
          reportPath,
          renderAssemblyReport(result.lineage, { baseLayers: transplantUnits(base.spec).map((u) => u.name) }),
        );
        const seconds = (performance.now() - started) / 1000;
        const l = result.lineage;
        emit({
          event: 'done',
          model: modelPath,
          report: reportPath,
          initial: l.initial,
          final: l.final,
          bestZooModel: l.bestZooModel ?? null,
          steps: l.steps.length,
          stopReason: l.stopReason,
          seconds,
        });
        if (!json) {
          io.out(
            `assembled ${base.path} with ${l.steps.filter((s) => s.accepted !== null).length} transplant(s) in ${seconds.toFixed(1)} s (${l.stopReason})`,
          );
          io.out(`  objective of the base            ${describeEvaluated(l.initial)}`);
          if (l.bestZooModel !== undefined)
            io.out(`  best single zoo model (${l.bestZooModel.id})  ${describeEvaluated(l.bestZooModel)}`);
          io.out(`  assembled model                  ${describeEvaluated(l.final)}`);
          io.out(`model   ${modelPath}`);
          io.out(`report  ${reportPath}`);
        }
        return 0;
      } finally {
        for (const e of evaluators.values()) await e.close();
      }
    } finally {
      await base.source.close();
      for (const m of zooModels) await m.source.close();
    }
  },
};

function describeEvaluated(e: Evaluated): string {
  return `${e.objective.toFixed(4)}  (${e.tasks.map((t) => `${t.name}: loss ${t.loss.toFixed(4)}, accuracy ${(100 * t.accuracy).toFixed(2)}%`).join('; ')})`;
}
