import { encodeState } from '../../assembly/model-state.js';
import { describeBackend, initBackend } from '../../compute/backend.js';
import {
  CALIBRATION_KINDS,
  CalibrationError,
  calibrateLogits,
  classesWithoutExamples,
  fitCalibration,
} from '../../eval/calibration.js';
import { applyCalibrationToModel, outputLayerTensors } from '../../eval/calibration-fold.js';
import { evaluateLogits } from '../../eval/logits-evaluation.js';
import { forwardConfigOf, loadDatasetFor } from '../../eval/model-evaluation.js';
import { modelLogits } from '../../eval/model-logits.js';
import { writeFileAtomic } from '../../io/atomic-file.js';
import { checkOutputFile, modelInputFiles } from '../../io/output-guard.js';
import { loadModel, readFiniteFloatTensors } from '../../model/load-model.js';
import type { CommandIO, ParsedArgs } from '../command.js';
import { choiceOption, requiredString } from '../command.js';
import { EVALUATION_DIRECTIONS, HIGHER_IS_BETTER, LOWER_IS_BETTER } from '../directions.js';
import { evaluationArgs } from '../evaluation-options.js';
import { modelLoadOptions } from '../model-options.js';
import { optionalInputs } from '../run-inputs.js';

export async function runCalibrate(args: ParsedArgs, io: CommandIO): Promise<number> {
  const opts = evaluationArgs(args);
  const out = requiredString(args, 'out');
  const kind = choiceOption(args, 'kind', CALIBRATION_KINDS) ?? 'biases';
  const modelPath = args.positionals[0];
  // Before any work: the output may replace only a regular file, never the model or spec it reads.
  await checkOutputFile(out, [
    ...(await modelInputFiles(modelPath, 'the model')),
    ...optionalInputs(args, { spec: '--spec' }),
  ]);
  const backend = await initBackend(opts.backend);
  const model = await loadModel(modelPath, modelLoadOptions(args, ''));
  try {
    // A model whose output layer cannot hold the calibration is refused before the data is read.
    outputLayerTensors(model.spec);
    const dataset = await loadDatasetFor(model.spec, opts.data, { dataDir: opts.dataDir, limit: opts.limit });
    const order = model.source.tensorNames();
    const tensors = await readFiniteFloatTensors(model, order);
    const config = forwardConfigOf(model);
    io.progress(`computing logits on ${dataset.count} examples of ${dataset.name}`);
    const logits = await modelLogits(tensors, model.spec, dataset, config, opts.batchSize);
    const missing = classesWithoutExamples(dataset.labels, logits.classes);
    if (missing.length > 0)
      throw new CalibrationError(
        `calibrate: ${dataset.name} has no example of class${missing.length === 1 ? '' : 'es'} ${missing.join(', ')} of the model's ${logits.classes}; their shifts would grow without bound and the calibrated model would never predict them: calibrate on data holding every class`,
      );
    const before = evaluateLogits(logits, dataset.labels);
    io.progress(`fitting ${kind}`);
    const fit = fitCalibration(logits, dataset.labels, kind);
    const after = evaluateLogits(
      { logits: calibrateLogits(logits, fit), classes: logits.classes },
      dataset.labels,
    );
    const calibrated = applyCalibrationToModel(tensors, model.spec, fit);
    // The forward facts (activation, strides) travel in the metadata, so the written file evaluates alone.
    const metadata: Record<string, string> = {};
    for (const [key, value] of Object.entries(config)) metadata[key] = String(value);
    Object.assign(metadata, {
      'mal.kind': 'calibrated',
      'mal.source': model.path,
      'mal.calibration.kind': kind,
      'mal.calibration.temperature': String(fit.temperature),
      'mal.calibration.biases': JSON.stringify(fit.biases),
      'mal.calibration.data': dataset.name,
      'mal.calibration.examples': String(dataset.count),
      'mal.calibration.layer': outputLayerTensors(model.spec).layer,
    });
    await writeFileAtomic(out, encodeState(order, calibrated, metadata));
    if (args.flags.has('json')) {
      io.out(
        JSON.stringify({
          model: model.path,
          out,
          data: dataset.name,
          count: dataset.count,
          kind,
          temperature: fit.temperature,
          biases: fit.biases,
          before: { loss: before.loss, accuracy: before.accuracy },
          after: { loss: after.loss, accuracy: after.accuracy },
          directions: EVALUATION_DIRECTIONS,
          backend: backend.name,
        }),
      );
    } else {
      io.out(`calibrated ${model.path} on ${dataset.name} (${dataset.count} examples): ${kind}`);
      if (kind === 'temperature-biases') io.out(`  temperature  ${fit.temperature.toFixed(4)}`);
      io.out(`  biases       ${fit.biases.map((b) => b.toFixed(3)).join(', ')}`);
      io.out(`  loss         ${before.loss.toFixed(4)} → ${after.loss.toFixed(4)} ${LOWER_IS_BETTER}`);
      io.out(
        `  accuracy     ${(100 * before.accuracy).toFixed(2)}% → ${(100 * after.accuracy).toFixed(2)}% ${HIGHER_IS_BETTER}`,
      );
      io.out(`  ${describeBackend(backend)}`);
      io.out(`wrote ${out}`);
    }
    return 0;
  } finally {
    await model.source.close();
  }
}
