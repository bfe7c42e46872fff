/**
 * The baselines of a language-model assembly, in the causal LM loss (mean cross-entropy per token; perplexity is
 * its exponential): the base, the best single zoo model, the ensemble of the base and the zoo, and the assembled
 * model. No calibrated entries: the head is tied to the token embedding and has no biases to re-fit (the run
 * refuses `calibrate` for these models). The ensemble averages probabilities, not logits: the mixture
 * `p(x) = mean_m p_m(x)`, the usual language-model ensemble, whose loss is never above the members' mean loss.
 */
import { MalError } from '../errors.js';
import type { LogitsTable } from '../eval/calibration.js';
import { nextTokenTargets } from '../eval/language-model-logits.js';
import { evaluateLogits } from '../eval/logits-evaluation.js';
import type { BaselineInputs, BaselineResult } from './baselines.js';
import type { Baseline, BaselineName, TaskResult } from './lineage.js';
import { evaluatedOf } from './objective-evaluation.js';

/** Per row, log-softmax of the logits: the log-probabilities an ensemble mixes. */
function logProbabilities(table: LogitsTable): Float64Array {
  const { logits, classes } = table;
  const out = new Float64Array(logits.length);
  for (let row = 0; row < logits.length / classes; row++) {
    let max = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < classes; c++) max = Math.max(max, logits[row * classes + c]);
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += Math.exp(logits[row * classes + c] - max);
    const norm = max + Math.log(sum);
    for (let c = 0; c < classes; c++) out[row * classes + c] = logits[row * classes + c] - norm;
  }
  return out;
}

export async function computeLanguageModelBaselines(inputs: BaselineInputs): Promise<BaselineResult> {
  const { tasks, report } = inputs;
  const datasets = [...tasks.map((t) => t.dataset), ...report.map((r) => r.dataset)];
  const targets = datasets.map((dataset) => nextTokenTargets(dataset));
  const total = inputs.zoo.length + 2;
  let done = 0;
  const tablesOf = async (model: BaselineInputs['base'], name: string): Promise<LogitsTable[]> => {
    inputs.onProgress?.(done, total, name);
    const tables: LogitsTable[] = [];
    for (const dataset of datasets) tables.push(await inputs.logitsOn(model.tensors, model.spec, dataset));
    done++;
    return tables;
  };
  const measure = (
    tables: readonly LogitsTable[],
    name: BaselineName,
    label: string,
    models: string[],
  ): Baseline => {
    const results = tables.map((table, i): TaskResult => {
      const e = evaluateLogits(table, targets[i]);
      const taskName = i < tasks.length ? tasks[i].name : report[i - tasks.length].name;
      return { name: taskName, loss: e.loss, accuracy: e.accuracy };
    });
    return {
      name,
      label,
      models,
      objective: evaluatedOf(tasks, results.slice(0, tasks.length)),
      report: results.slice(tasks.length),
    };
  };
  const base = await tablesOf(inputs.base, 'base');
  const vocab = base[0].classes;
  // Σ_m p_m per data set, accumulated in float64 as log-probabilities come.
  const mixture = base.map((table) => logProbabilities(table).map(Math.exp));
  const members = ['base'];
  const excluded: { id: string; reason: string }[] = [];
  let best: Baseline | undefined;
  for (const z of inputs.zoo) {
    let tables: LogitsTable[];
    try {
      tables = await tablesOf(z.model, z.id);
    } catch (error) {
      if (!(error instanceof MalError)) throw error;
      done++;
      excluded.push({ id: z.id, reason: error.message });
      continue;
    }
    if (tables[0].classes !== vocab) {
      excluded.push({
        id: z.id,
        reason: `its vocabulary has ${tables[0].classes} tokens, the base's ${vocab}`,
      });
      continue;
    }
    members.push(z.id);
    tables.forEach((table, i) => {
      const logP = logProbabilities(table);
      for (let k = 0; k < logP.length; k++) mixture[i][k] += Math.exp(logP[k]);
    });
    const single = measure(tables, 'best-zoo', `best single zoo model ${z.id}`, [z.id]);
    if (best === undefined || single.objective.objective < best.objective.objective) best = single;
  }
  // log of the mean probability is a valid logit row: its softmax is the mixture itself.
  const ensembleTables = mixture.map((sum) => ({
    logits: Float32Array.from(sum, (p) => Math.log(p / members.length)),
    classes: vocab,
  }));
  const assembled = await tablesOf(inputs.assembled, 'assembled');
  const ensembleLabel = `probability ensemble of the base and ${members.length - 1} zoo model${members.length === 2 ? '' : 's'}`;
  const entries: Baseline[] = [
    measure(base, 'base', 'base', ['base']),
    ...(best === undefined ? [] : [best]),
    measure(ensembleTables, 'ensemble', ensembleLabel, members),
    measure(assembled, 'assembled', 'assembled model (training-free)', ['assembled']),
  ];
  return {
    baselines: {
      calibration: inputs.kind,
      report: report.map((r) => r.name),
      entries,
      excluded,
      // Accuracy gaps are defined on calibrated entries, which language models do not have.
      gapClosed: {
        on: report.length > 0 ? 'report' : 'objective',
        assembled: 'assembled',
        accuracies: { assembled: null, bestSingle: null, ensemble: null },
        value: null,
      },
    },
    assembledCalibration: { kind: inputs.kind, temperature: 1, biases: new Array<number>(vocab).fill(0) },
  };
}
