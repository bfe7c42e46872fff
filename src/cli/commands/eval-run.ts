import { describeBackend, initBackend } from '../../compute/backend.js';
import { evaluateTensors, forwardConfigOf, loadDatasetFor } from '../../eval/model-evaluation.js';
import { loadModel, readFiniteFloatTensors } from '../../model/load-model.js';
import type { CommandIO, ParsedArgs } from '../command.js';
import { EVALUATION_DIRECTIONS, HIGHER_IS_BETTER, LOWER_IS_BETTER } from '../directions.js';
import { evaluationArgs } from '../evaluation-options.js';
import { modelLoadOptions } from '../model-options.js';

export async function runEval(args: ParsedArgs, io: CommandIO): Promise<number> {
  const opts = evaluationArgs(args);
  const backend = await initBackend(opts.backend);
  const model = await loadModel(args.positionals[0], modelLoadOptions(args, ''));
  try {
    const dataset = await loadDatasetFor(model.spec, opts.data, {
      dataDir: opts.dataDir,
      limit: opts.limit,
    });
    const tensors = await readFiniteFloatTensors(model, model.source.tensorNames());
    io.progress(`evaluating on ${dataset.count} examples of ${dataset.name}`);
    const started = performance.now();
    const result = await evaluateTensors(
      tensors,
      model.spec,
      dataset,
      forwardConfigOf(model),
      opts.batchSize,
    );
    const seconds = (performance.now() - started) / 1000;
    if (args.flags.has('json')) {
      io.out(
        JSON.stringify({
          model: model.path,
          data: dataset.name,
          count: result.count,
          loss: result.loss,
          accuracy: result.accuracy,
          directions: EVALUATION_DIRECTIONS,
          backend: backend.name,
          seconds,
        }),
      );
    } else {
      io.out(`${model.path} on ${dataset.name} (${result.count} examples)`);
      io.out(`  loss      ${result.loss.toFixed(4)} ${LOWER_IS_BETTER}`);
      io.out(`  accuracy  ${(100 * result.accuracy).toFixed(2)}% ${HIGHER_IS_BETTER}`);
      io.out(`  ${describeBackend(backend)}, ${seconds.toFixed(2)} s`);
    }
    return 0;
  } finally {
    await model.source.close();
  }
}
