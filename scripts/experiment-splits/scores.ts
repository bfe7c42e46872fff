/**
 * Per-example scores and the summary figures of the experiment, from logits already in memory. The paired
 * bootstrap needs to know which examples each model gets right, not only how many.
 */

import { MalError } from '../../src/errors.js';
import type { LogitsTable } from '../../src/eval/calibration.js';

/** 1 where the arg-max class (the first one on ties, as evaluateLogits) is the label, else 0. */
export function correctness(table: LogitsTable, labels: Int32Array): Uint8Array {
  const { logits, classes } = table;
  if (logits.length !== labels.length * classes)
    throw new MalError(
      `correctness: ${logits.length} logits are not ${labels.length} examples × ${classes} classes`,
    );
  const out = new Uint8Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[i * classes + c] > logits[i * classes + best]) best = c;
    out[i] = best === labels[i] ? 1 : 0;
  }
  return out;
}

export function accuracyOf(correct: Uint8Array): number {
  let sum = 0;
  for (const v of correct) sum += v;
  return sum / correct.length;
}

/**
 * (model − best single) / (ensemble − best single): the share of the ensemble's lead over the best single model
 * that the model recovers. null when the ensemble does not lead (nothing to close).
 */
export function gapClosed(model: number, bestSingle: number, ensemble: number): number | null {
  return ensemble > bestSingle ? (model - bestSingle) / (ensemble - bestSingle) : null;
}

/** Several replicates' scores as one list, for a bootstrap over all their examples together. */
export function concatenate(lists: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(lists.reduce((n, l) => n + l.length, 0));
  let at = 0;
  for (const list of lists) {
    out.set(list, at);
    at += list.length;
  }
  return out;
}
