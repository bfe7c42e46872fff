import type { Baseline, Baselines, GapClosed } from '../assembly/lineage.js';
import { escapeMarkup } from './markup-escape.js';
import { formatNumber, formatPercent } from './number-format.js';

/**
 * The baselines table, one per output: plain lines for the terminal, Markdown for the model card, HTML for the
 * report. The same rows and the same gap-closed sentence in all three, so they cannot disagree.
 */

interface Row {
  readonly label: string;
  readonly objective: string;
  /** Accuracy on the objective tasks, each task's in order. */
  readonly objectiveAccuracy: string;
  /** Loss and accuracy on each report data set, in order. */
  readonly report: readonly { readonly loss: string; readonly accuracy: string }[];
}

function rowOf(entry: Baseline): Row {
  return {
    label: entry.label,
    objective: formatNumber(entry.objective.objective),
    objectiveAccuracy: entry.objective.tasks.map((t) => formatPercent(t.accuracy)).join(' · '),
    report: entry.report.map((r) => ({ loss: formatNumber(r.loss), accuracy: formatPercent(r.accuracy) })),
  };
}

/**
 * "Gap closed: 0.42 (accuracy on the report data: …)", or why there is none; for the healed model "Gap closed
 * with heal (training): …", so the trained result never reads as the training-free one.
 */
export function describeGapClosed(gap: GapClosed): string {
  const where = gap.on === 'report' ? 'the report data' : 'the objective data (no report data given)';
  const { assembled, bestSingle, ensemble } = gap.accuracies;
  const healed = gap.assembled === 'assembled-healed';
  const title = healed ? 'Gap closed with heal (training)' : 'Gap closed';
  const facts = `accuracy on ${where}: ${healed ? 'assembled + heal' : 'assembled'} ${assembled === null ? '—' : formatPercent(assembled)}, best calibrated single model ${bestSingle === null ? '—' : formatPercent(bestSingle)}, calibrated ensemble ${ensemble === null ? '—' : formatPercent(ensemble)}`;
  if (gap.value !== null) return `${title}: ${formatNumber(gap.value, 2)} (${facts})`;
  const why =
    bestSingle === null
      ? 'no zoo model can be evaluated on these tasks'
      : 'the calibrated ensemble does not beat the best calibrated single model';
  return `${title}: — (${why}; ${facts})`;
}

/** The gap-closed sentences: the written model's, then the healed model's when heal ran. */
function gapSentences(baselines: Baselines): string[] {
  return [
    describeGapClosed(baselines.gapClosed),
    ...(baselines.gapClosedHealed === undefined ? [] : [describeGapClosed(baselines.gapClosedHealed)]),
  ];
}

function calibrationNote(baselines: Baselines): string {
  const report =
    baselines.report.length === 0
      ? 'no report data was given'
      : `report data ${baselines.report.join(', ')} was never used for any decision`;
  return `calibrated = ${baselines.calibration === 'biases' ? 'output biases' : 'temperature and output biases'} re-fitted on the objective data; ${report}`;
}

/** For the terminal: a header line, one line per baseline, and the gap closed. */
export function baselineTableLines(baselines: Baselines): string[] {
  const width = Math.max(...baselines.entries.map((e) => e.label.length));
  return [
    `  baselines (${calibrationNote(baselines)})`,
    ...baselines.entries.map((entry) => {
      const row = rowOf(entry);
      const report = row.report
        .map((r, i) => `; ${baselines.report[i]}: loss ${r.loss}, accuracy ${r.accuracy}`)
        .join('');
      return `    ${row.label.padEnd(width)}  objective ${row.objective} (accuracy ${row.objectiveAccuracy})${report}`;
    }),
    ...gapSentences(baselines).map((sentence) => `  ${sentence}`),
    ...baselines.excluded.map((e) => `  not among the baselines: ${e.id}: ${e.reason}`),
  ];
}

/** For the model card: a Markdown table; `cell` makes lineage text safe inside it. */
export function baselineTableMarkdown(baselines: Baselines, cell: (text: string) => string): string[] {
  const reportHeads = baselines.report.flatMap((r) => [`${cell(r)} loss`, `${cell(r)} accuracy`]);
  return [
    `| Model | Objective (lower is better) | Accuracy on the objective tasks | ${reportHeads.join(' | ')}${reportHeads.length === 0 ? '' : ' |'}`,
    `| --- | ---: | ---: |${reportHeads.map(() => ' ---: |').join('')}`,
    ...baselines.entries.map((entry) => {
      const row = rowOf(entry);
      const report = row.report.map((r) => ` ${r.loss} | ${r.accuracy} |`).join('');
      return `| ${cell(row.label)} | ${row.objective} | ${row.objectiveAccuracy} |${report}`;
    }),
    '',
    `${gapSentences(baselines)
      .map((sentence) => `${cell(sentence)}. `)
      .join('')}Calibrated: ${cell(calibrationNote(baselines))}.`,
  ];
}

/** For the HTML report. */
export function baselineTableHtml(baselines: Baselines): string {
  const reportHeads = baselines.report
    .map(
      (r) =>
        `<th scope="col" colspan="2"><code>${escapeMarkup(r)}</code><br><span class="muted">loss · accuracy</span></th>`,
    )
    .join('');
  const rows = baselines.entries.map((entry) => {
    const row = rowOf(entry);
    const written = entry.name === baselines.gapClosed.assembled ? ' class="total"' : '';
    // The healed row is training: marked so, in the row itself, not only by its label.
    const label =
      entry.name === 'assembled-healed'
        ? `${escapeMarkup(row.label)} <span class="muted">trained by distillation, not training-free</span>`
        : escapeMarkup(row.label);
    return `<tr${written}><th scope="row">${label}</th><td class="num">${escapeMarkup(row.objective)}</td><td class="num">${escapeMarkup(row.objectiveAccuracy)}</td>${row.report
      .map(
        (r) => `<td class="num">${escapeMarkup(r.loss)}</td><td class="num">${escapeMarkup(r.accuracy)}</td>`,
      )
      .join('')}</tr>`;
  });
  return [
    `<p class="muted">${escapeMarkup(calibrationNote(baselines))}. The written model's row is marked.</p>`,
    `<div class="table-frame"><table class="tasks baselines"><thead><tr><th scope="col">Model</th><th scope="col">Objective<br><span class="muted">lower is better</span></th><th scope="col">Accuracy on the objective tasks</th>${reportHeads}</tr></thead><tbody>${rows.join('')}</tbody></table></div>`,
    ...gapSentences(baselines).map((sentence) => `<p>${escapeMarkup(sentence)}</p>`),
    ...(baselines.excluded.length === 0
      ? []
      : [
          `<p class="muted">Not among the baselines: ${baselines.excluded
            .map((e) => `<code>${escapeMarkup(e.id)}</code> (${escapeMarkup(e.reason)})`)
            .join('; ')}</p>`,
        ]),
  ].join('\n');
}
