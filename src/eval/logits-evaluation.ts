/**
 * Loss and accuracy computed from logits already in memory, in float64: what calibration, ensembles and the
 * baselines are judged by, so a model, its calibrated version and an ensemble are measured the same way.
 */
import { MalError } from '../errors.js';
import type { LogitsTable } from './calibration.js';
import type { Evaluation } from './evaluate.js';

/** Mean natural-log cross-entropy and accuracy (ties go to the first class, as argmax). */
export function evaluateLogits(table: LogitsTable, labels: Int32Array): Evaluation {
  const { logits, classes } = table;
  if (logits.length !== labels.length * classes)
    throw new MalError(
      `evaluate: ${logits.length} logits are not ${labels.length} examples × ${classes} classes`,
    );
  let loss = 0;
  let correct = 0;
  for (let i = 0; i < labels.length; i++) {
    const row = i * classes;
    let max = Number.NEGATIVE_INFINITY;
    let argmax = 0;
    for (let c = 0; c < classes; c++) {
      if (logits[row + c] > max) {
        max = logits[row + c];
        argmax = c;
      }
    }
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += Math.exp(logits[row + c] - max);
    loss += max + Math.log(sum) - logits[row + labels[i]];
    if (argmax === labels[i]) correct++;
  }
  return { loss: loss / labels.length, accuracy: correct / labels.length, count: labels.length };
}

/** The logit ensemble: the element-wise mean of several models' logits on the same examples. */
export function meanLogits(tables: readonly LogitsTable[]): LogitsTable {
  if (tables.length === 0) throw new MalError('a logit ensemble needs at least one model');
  const { classes, logits: first } = tables[0];
  const sum = new Float64Array(first.length);
  for (const [m, table] of tables.entries()) {
    if (table.classes !== classes || table.logits.length !== first.length)
      throw new MalError(
        `logit ensemble: model ${m + 1} gives ${table.logits.length / table.classes} × ${table.classes} logits, the first ${first.length / classes} × ${classes}`,
      );
    for (let i = 0; i < sum.length; i++) sum[i] += table.logits[i];
  }
  const mean = new Float32Array(sum.length);
  for (let i = 0; i < sum.length; i++) mean[i] = sum[i] / tables.length;
  return { logits: mean, classes };
}
