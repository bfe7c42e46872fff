import type { Dataset } from '../data/dataset.js';
import type { ArchitectureSpec } from '../spec/architecture-spec.js';
import type { FloatTensor } from '../tensor/tensor.js';
import { type CalibrationKind, calibrateLogits, fitCalibration } from './calibration.js';
import type { Evaluation } from './evaluate.js';
import type { ForwardConfig } from './forward.js';
import { evaluateLogits } from './logits-evaluation.js';
import { evaluateTensors } from './model-evaluation.js';
import { modelLogits } from './model-logits.js';

/**
 * How a model is scored on a task: as it is (`raw`), or after re-fitting its output calibration on that task's data
 * and measuring it there (`biases`). Scoring calibrated leaves out what a few output biases could do anyway, so an
 * assembly accepts a transplant for what it adds beyond correcting the class prior. The fit is in-sample: every
 * model gains the same small optimism from it, so rankings stay fair.
 */
export type TaskScoring = 'raw' | CalibrationKind;

/** Loss and accuracy of a model on a data set under a scoring; `raw` is `evaluateTensors` unchanged. */
export async function evaluateTensorsScored(
  tensors: ReadonlyMap<string, FloatTensor>,
  spec: ArchitectureSpec,
  dataset: Dataset,
  config: ForwardConfig,
  scoring: TaskScoring,
  batchSize?: number,
): Promise<Evaluation> {
  if (scoring === 'raw') return evaluateTensors(tensors, spec, dataset, config, batchSize);
  const table = await modelLogits(tensors, spec, dataset, config, batchSize);
  const fit = fitCalibration(table, dataset.labels, scoring);
  return evaluateLogits({ logits: calibrateLogits(table, fit), classes: table.classes }, dataset.labels);
}
