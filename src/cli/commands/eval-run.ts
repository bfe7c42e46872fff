import { describeBackend, initBackend } from '../../compute/backend.js';
import { perplexity } from '../../eval/causal-lm-evaluation.js';
import { evaluateTensors, forwardConfigOf, loadDatasetForModel } from '../../eval/model-evaluation.js';
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
    const dataset = await loadDatasetForModel(model, opts.data, {
      dataDir: opts.dataDir,
      limit: opts.limit,
      ...(opts.context === undefined ? {} : { context: opts.context }),
    });
    const text = dataset.tokens;
    const tensors = await readFiniteFloatTensors(model, model.source.tensorNames());
    io.progress(
      text === undefined
        ? `evaluating on ${dataset.count} examples of ${dataset.name}`
        : `evaluating on ${dataset.count} sequences of ${dataset.exampleShape[0]} tokens of ${dataset.name} (${text.tokenizer})`,
    );
    const started = performance.now();
    const result = await evaluateTensors(
      tensors,
      model.spec,
      dataset,
      forwardConfigOf(model),
      opts.batchSize,
      (done, total) => io.progress(`scored ${done}/${total} sequences`),
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
          ...(text === undefined
            ? {}
            : {
                perplexity: perplexity(result.loss),
                sequences: dataset.count,
                sequenceLength: (dataset.exampleShape[0] ?? 1) - 1,
                tokenizer: text.tokenizer,
              }),
          directions: EVALUATION_DIRECTIONS,
          backend: backend.name,
          seconds,
        }),
      );
    } else {
      if (text === undefined) {
        io.out(`${model.path} on ${dataset.name} (${result.count} examples)`);
      } else {
        io.out(
          `${model.path} on ${dataset.name} (${result.count} predicted tokens in ${dataset.count} sequences, ${text.tokenizer})`,
        );
      }
      io.out(`  loss      ${result.loss.toFixed(4)} ${LOWER_IS_BETTER}`);
      if (text !== undefined) io.out(`  perplexity ${perplexity(result.loss).toFixed(3)} ${LOWER_IS_BETTER}`);
      io.out(
        `  accuracy  ${(100 * result.accuracy).toFixed(2)}%${text === undefined ? '' : ' (next token)'} ${HIGHER_IS_BETTER}`,
      );
      io.out(`  ${describeBackend(backend)}, ${seconds.toFixed(2)} s`);
    }
    return 0;
  } finally {
    await model.source.close();
  }
}
