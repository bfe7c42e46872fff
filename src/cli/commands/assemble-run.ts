import type { Evaluated, LineageStep } from '../../assembly/lineage.js';
import { runAssembly } from '../../assembly/run-assembly.js';
import { describeBackend } from '../../compute/backend.js';
import {
  checkAssemblyOutput,
  cleanAssemblyOutput,
  publishAssemblyOutputs,
} from '../../engine/assembly-outputs.js';
import { openEmbeddedAssembly } from '../../engine/embedded-assembly.js';
import { loadAssemblyRun } from '../../engine/load-assembly-run.js';
import { withOutputFolderLock } from '../../io/output-folder-lock.js';
import { baselineTableLines } from '../../report/baseline-table.js';
import { scoredCalibrated } from '../../report/comparable-best-zoo.js';
import type { CommandIO, ParsedArgs } from '../command.js';
import { ASSEMBLY_OBJECTIVE, EVALUATION_DIRECTIONS, LOWER_IS_BETTER } from '../directions.js';
import { progressBar } from '../progress-bar.js';

export async function runAssemble(args: ParsedArgs, io: CommandIO): Promise<number> {
  const { plan, validation, backend } = await loadAssemblyRun(args.positionals[0], {
    output: args.strings.get('out'),
    backend: args.strings.get('backend'),
  });
  // Before any work: an output that would replace an input or a device is refused. The folder is then locked
  // until the outputs are published (a second run into it fails here), and a killed run's leftovers go.
  await checkAssemblyOutput(plan);
  return withOutputFolderLock(plan.output, async () => {
    await cleanAssemblyOutput(plan.output);
    const json = args.flags.has('json');
    const directions = { objective: ASSEMBLY_OBJECTIVE, ...EVALUATION_DIRECTIONS };
    const emit = (event: Record<string, unknown>): void => {
      if (json) io.out(JSON.stringify(event));
    };

    emit({
      event: 'validated',
      plan: plan.file,
      zoo: validation.zooModels.length,
      skipped: validation.skipped,
      backend: backend.name,
    });
    if (!json) {
      io.err(
        `plan ${plan.file}: ${validation.zooModels.length} donor model(s) from the zoo, ${validation.skipped.length} left out; ${describeBackend(backend)}`,
      );
      for (const s of validation.skipped) io.err(`  skipped ${s.id}: ${s.reason}`);
    }

    const engine = await openEmbeddedAssembly(plan, validation, backend);
    // Zoo models whose weights could not be read (NaN, scaled FP8, …) are left out as the engine opens them.
    const leftOutOnLoad = (engine.inputs.skipped ?? []).slice(validation.skipped.length);
    if (leftOutOnLoad.length > 0) emit({ event: 'zoo-loaded', skipped: leftOutOnLoad });
    if (!json) for (const s of leftOutOnLoad) io.err(`  skipped ${s.id}: ${s.reason}`);
    try {
      const started = performance.now();
      let phaseStarted = performance.now();
      let lastPhase = '';
      const result = await runAssembly({
        ...engine.inputs,
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
          baselines: (done, total, model) => {
            if (done === 0) phaseStarted = performance.now();
            io.progress(
              `baselines: evaluating ${progressBar(done, total, phaseStarted, performance.now())} ${model}`,
            );
          },
          healStep: (step, steps, loss) => {
            if (step === 1) phaseStarted = performance.now();
            io.progress(
              `heal (training): distilling ${progressBar(step, steps, phaseStarted, performance.now())} loss ${loss.toPrecision(3)}`,
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
              directions,
            });
            if (!json) io.err(describeStep(step, resumed));
          },
        },
      });
      const paths = await publishAssemblyOutputs(plan.output, result, engine.base.spec, plan);
      const seconds = (performance.now() - started) / 1000;
      const l = result.lineage;
      emit({
        event: 'done',
        model: paths.model,
        report: paths.report,
        initial: l.initial,
        final: l.final,
        bestZooModel: l.bestZooModel ?? null,
        calibration: l.calibration ?? null,
        baselines: l.baselines ?? null,
        heal: l.heal ?? null,
        healedModel: paths.healedModel ?? null,
        steps: l.steps.length,
        stopReason: l.stopReason,
        seconds,
        directions,
      });
      if (!json) {
        io.out(
          `assembled a new model from the base ${engine.base.path}: ${l.steps.filter((s) => s.accepted !== null).length} transplant(s) accepted in ${seconds.toFixed(1)} s; stopped because ${l.stopReason}`,
        );
        // Scored calibrated, the loop's numbers are not the raw ones the baselines list: say which these are.
        const calibratedScoring = scoredCalibrated(l);
        io.out(
          calibratedScoring
            ? `  objective as the loop scored it, each model after re-fitting its output biases on the task data ${LOWER_IS_BETTER}`
            : `  objective ${LOWER_IS_BETTER}`,
        );
        const row = (label: string, e: Evaluated, note = ''): void =>
          io.out(`    ${label.padEnd(30)}${describeEvaluated(e)}${note === '' ? '' : `  ${note}`}`);
        row('base', l.initial);
        if (l.bestZooModel !== undefined && !calibratedScoring)
          row('best single zoo model', l.bestZooModel, l.bestZooModel.id);
        if (l.calibration !== undefined) {
          row('assembled, training-free', l.calibration.uncalibrated);
          row(
            'assembled, calibrated',
            l.final,
            `(${l.calibration.kind}${l.calibration.kind === 'temperature-biases' ? `, T = ${l.calibration.temperature.toFixed(3)}` : ''})`,
          );
        } else {
          row('assembled model', l.final);
        }
        if (l.heal?.status === 'healed')
          row(
            'assembled + heal (training)',
            l.heal.objective,
            `trained by distillation, not training-free: ${l.heal.options.steps} steps from the ensemble of ${l.heal.teacher.members.map((m) => m.id).join(', ')} on ${l.heal.examples} examples of ${l.heal.options.data} (${l.heal.seconds.toFixed(1)} s; loss ${l.heal.loss.first.toPrecision(3)} → ${l.heal.loss.last.toPrecision(3)})`,
          );
        if (l.heal?.status === 'skipped') io.out(`  heal skipped: ${l.heal.reason}`);
        if (l.baselines !== undefined) for (const line of baselineTableLines(l.baselines)) io.out(line);
        io.out(`model   ${paths.model}`);
        if (paths.healedModel !== undefined) io.out(`healed  ${paths.healedModel}  (training: distilled)`);
        io.out(`report  ${paths.report}`);
      }
      return 0;
    } finally {
      await engine.close();
    }
  });
}

function describeStep(step: LineageStep, resumed: boolean): string {
  const a = step.accepted;
  const what =
    a === null
      ? 'nothing improved the objective'
      : `${a.candidate.model} ${a.candidate.layers.join('+')} → ${a.candidate.baseLayers.join('+')} merged at λ = ${a.lambda} (safe up to λ* = ${a.threshold})`;
  const change = step.objectiveAfter - step.objectiveBefore;
  return `step ${step.index + 1}${resumed ? ' (resumed from the store)' : ''}: ${what}; objective ${step.objectiveBefore.toFixed(4)} → ${step.objectiveAfter.toFixed(4)} (${change === 0 ? 'no change' : change.toPrecision(3)}; ${LOWER_IS_BETTER.slice(1, -1)})`;
}

function describeEvaluated(e: Evaluated): string {
  return `${e.objective.toFixed(4)}  (${e.tasks.map((t) => `${t.name}: loss ${t.loss.toFixed(4)}, accuracy ${(100 * t.accuracy).toFixed(2)}%`).join('; ')})`;
}
