import { availableParallelism } from 'node:os';
import { basename } from 'node:path';
import { describeBackend, initBackend } from '../../compute/backend.js';
import { createEvaluator } from '../../engine/evaluation-pool.js';
import { perplexity } from '../../eval/causal-lm-evaluation.js';
import { parseLambdaGrid } from '../../eval/lambda-grid.js';
import { linearModeConnectivity } from '../../eval/lmc-run.js';
import { evaluateTensors, forwardConfigOf, loadDatasetForModel } from '../../eval/model-evaluation.js';
import { writeFileAtomic } from '../../io/atomic-file.js';
import { checkOutputFile, modelInputFiles } from '../../io/output-guard.js';
import { UNMATCHED_POLICIES, type UnmatchedPolicy } from '../../merge/mal-interpolation.js';
import { loadModel } from '../../model/load-model.js';
import { renderLmcPlotSvg } from '../../report/lmc-plot.js';
import { alignmentOptions } from '../alignment-options.js';
import type { CommandIO, ParsedArgs } from '../command.js';
import { choiceOption, numberOption } from '../command.js';
import {
  ALIGNMENT_OBJECTIVE,
  EVALUATION_DIRECTIONS,
  HIGHER_IS_BETTER,
  LOWER_IS_BETTER,
} from '../directions.js';
import { evaluationArgs } from '../evaluation-options.js';
import { modelLoadOptions } from '../model-options.js';
import { optionalInputs } from '../run-inputs.js';

export async function runLmc(args: ParsedArgs, io: CommandIO): Promise<number> {
  const opts = evaluationArgs(args);
  const grid = parseLambdaGrid(args.strings.get('grid') ?? '0:0.1:1');
  const unmatched: UnmatchedPolicy = choiceOption(args, 'unmatched', UNMATCHED_POLICIES) ?? 'zero';
  const epsilonFraction = numberOption(args, 'epsilon') ?? 0.01;
  const threads = numberOption(args, 'threads');
  const layers = args.strings
    .get('layers')
    ?.split(',')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  // Nothing is written unless asked for: no plot in the current folder by default.
  const plotPath = args.strings.get('plot');
  const naive = args.flags.has('naive');
  const json = args.flags.has('json');

  // Before any work: a plot may replace only a regular file, never an input of this run.
  if (plotPath !== undefined) {
    await checkOutputFile(plotPath, [
      ...(await modelInputFiles(args.positionals[0], 'the base model')),
      ...(await modelInputFiles(args.positionals[1], 'the target model')),
      ...optionalInputs(args, { 'base-spec': '--base-spec', 'target-spec': '--target-spec' }),
    ]);
  }
  const backend = await initBackend(opts.backend);
  const base = await loadModel(args.positionals[0], modelLoadOptions(args, 'base-'));
  try {
    const target = await loadModel(args.positionals[1], modelLoadOptions(args, 'target-'));
    try {
      const dataset = await loadDatasetForModel(base, opts.data, {
        dataDir: opts.dataDir,
        limit: opts.limit,
        ...(opts.context === undefined ? {} : { context: opts.context }),
      });
      const config = forwardConfigOf(base);
      const evaluator = await createEvaluator({
        threads: Math.min(threads ?? availableParallelism(), grid.length),
        parallel: threads === undefined ? 'auto' : 'always',
        backend: backend.name,
        spec: base.spec,
        config,
        batchSize: opts.batchSize,
        evaluateInProcess: (tensors, data) =>
          evaluateTensors(tensors, base.spec, data, config, opts.batchSize),
        onDone: (done, total) => io.progress(`evaluated ${done}/${total} λ points`),
      });
      const started = performance.now();
      let result: Awaited<ReturnType<typeof linearModeConnectivity>>;
      try {
        result = await linearModeConnectivity(base, target, dataset, {
          grid,
          naive,
          layers,
          unmatched,
          alignment: alignmentOptions(args),
          epsilonFraction,
          evaluateAll: evaluator.evaluateAll,
        });
      } finally {
        await evaluator.close();
      }
      const seconds = (performance.now() - started) / 1000;
      const title = `${basename(base.path)} ← ${basename(target.path)} on ${dataset.name}${naive ? ' (naive)' : ''}`;
      if (plotPath !== undefined) {
        await writeFileAtomic(
          plotPath,
          renderLmcPlotSvg(title, [
            {
              label: naive ? 'naive' : 'aligned',
              points: result.points,
              threshold: result.summary.threshold,
            },
          ]),
        );
      }
      if (json) {
        io.out(
          JSON.stringify({
            base: base.path,
            target: target.path,
            data: dataset.name,
            count: dataset.count,
            naive,
            unmatched,
            backend: backend.name,
            threads: evaluator.threads,
            seconds,
            alignment: result.alignment,
            transplanted: result.transplanted,
            points: result.points,
            summary: result.summary,
            directions: {
              ...EVALUATION_DIRECTIONS,
              meanLoss: 'lower',
              barrier: 'lower',
              objective: ALIGNMENT_OBJECTIVE,
            },
            plot: plotPath ?? null,
          }),
        );
      } else {
        io.out(title);
        const text = dataset.tokens !== undefined;
        io.out(
          `      λ     loss  ${text ? 'perplexity  ' : ''}accuracy    (loss ${LOWER_IS_BETTER}, accuracy ${HIGHER_IS_BETTER})`,
        );
        for (const p of result.points) {
          const perplexityColumn = text ? `  ${perplexity(p.loss).toPrecision(5).padStart(10)}` : '';
          io.out(
            `  ${p.lambda.toFixed(3).padStart(5)}  ${p.loss.toFixed(4).padStart(7)}${perplexityColumn}  ${(100 * p.accuracy).toFixed(2).padStart(7)}%`,
          );
        }
        const s = result.summary;
        io.out(`mean LMC loss  ${s.meanLoss.toFixed(4)} ${LOWER_IS_BETTER}`);
        io.out(`barrier        ${s.barrier.toFixed(4)} (at λ = ${s.barrierLambda}) ${LOWER_IS_BETTER}`);
        io.out(
          `λ*             ${s.threshold} (ε = ${s.epsilon.toPrecision(3)}, ${epsilonFraction * 100}% of L(0))`,
        );
        if (result.alignment !== null) {
          io.out(
            `alignment      objective ${result.alignment.initialObjective.toPrecision(6)} → ${result.alignment.objective.toPrecision(6)} ${HIGHER_IS_BETTER} in ${result.alignment.sweeps} sweep(s)`,
          );
        }
        io.out(`${describeBackend(backend)}, ${evaluator.threads} thread(s), ${seconds.toFixed(1)} s`);
        if (plotPath !== undefined) io.out(`wrote ${plotPath}`);
      }
      return 0;
    } finally {
      await target.source.close();
    }
  } finally {
    await base.source.close();
  }
}
