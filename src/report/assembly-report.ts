import type { Evaluated, Lineage, LineageHeal } from '../assembly/lineage.js';
import { baselineTableHtml } from './baseline-table.js';
import { comparableBestZoo, scoredCalibrated } from './comparable-best-zoo.js';
import { renderLayerPairs, renderLineageTableHtml } from './lineage-table.js';
import { escapeMarkup } from './markup-escape.js';
import { abbreviateHash, formatDelta, formatNumber, formatPercent } from './number-format.js';
import { renderObjectiveChartSvg } from './objective-chart.js';
import { REPORT_STYLES } from './report-styles.js';
import { renderStepSectionHtml } from './step-section.js';
import { renderTransplantDiagramSvg } from './transplant-diagram.js';

export interface AssemblyReportOptions {
  /** Page title (default: "Model assembly report"). */
  readonly title?: string;
  /** The base's layers in network order, for the transplant diagram (default: as the candidates name them). */
  readonly baseLayers?: readonly string[];
  /** When the report was made, shown as given (left out by default so the page is a function of the lineage). */
  readonly generatedAt?: string;
}

/**
 * The run's report: ONE self-contained HTML page (inline CSS and SVG, no script, no URL), so it can be mailed,
 * archived next to the model, or opened offline. Every string from the lineage is escaped.
 */
export function renderAssemblyReport(lineage: Lineage, options: AssemblyReportOptions = {}): string {
  const title = options.title ?? 'Model assembly report';
  const accepted = lineage.steps.filter((s) => s.accepted !== null).length;
  const body = [
    '<header>',
    `<h1>${escapeMarkup(title)}</h1>`,
    `<p class="subtitle">Base <code>${escapeMarkup(lineage.base.path)}</code> · zoo of ${lineage.zoo.length} model${lineage.zoo.length === 1 ? '' : 's'} · ${accepted} of ${lineage.steps.length} step${lineage.steps.length === 1 ? '' : 's'} accepted${options.generatedAt === undefined ? '' : ` · ${escapeMarkup(options.generatedAt)}`}</p>`,
    '</header>',
    renderHeadline(lineage),
    '<section id="summary">',
    '<h2>Run</h2>',
    renderRunFacts(lineage),
    '<h3>Tasks</h3>',
    `<p class="muted">The objective is Σ weight · value, where the value is the task’s loss, or −accuracy: lower is better.${scoringNote(lineage)}</p>`,
    renderTaskTable(lineage),
    '</section>',
    ...(lineage.baselines === undefined
      ? []
      : [
          '<section id="baselines">',
          '<h2>Baselines</h2>',
          '<p class="muted">The base, the best single zoo model and the logit ensemble (mean of logits) of the base and the zoo, each as it is and calibrated, beside the assembled model: what the result is judged against.</p>',
          baselineTableHtml(lineage.baselines),
          '</section>',
        ]),
    ...(lineage.heal === undefined ? [] : renderHealSection(lineage.heal, lineage.final.objective)),
    '<section id="objective">',
    '<h2>Objective per step</h2>',
    `<div class="chart-frame">${renderObjectiveChartSvg(lineage)}</div>`,
    '</section>',
    '<section id="transplants">',
    '<h2>What went where</h2>',
    '<p class="muted">Each arrow is a zoo layer merged into a base layer; the badge on a base layer names the steps that changed it.</p>',
    `<div class="chart-frame">${renderTransplantDiagramSvg(lineage, options.baseLayers)}</div>`,
    '</section>',
    '<section id="lineage">',
    '<h2>Lineage</h2>',
    `<div class="table-frame">${renderLineageTableHtml(lineage)}</div>`,
    '</section>',
    '<section id="steps">',
    '<h2>Steps</h2>',
    ...lineage.steps.map((step, i) => renderStepSectionHtml(step, i + 1)),
    '</section>',
    '<section id="options">',
    '<h2>Options as run</h2>',
    `<details><summary>Plan <code>${escapeMarkup(lineage.plan)}</code>, every option with its value</summary><pre>${escapeMarkup(compactJson(lineage.options))}</pre></details>`,
    '</section>',
  ];
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeMarkup(title)}</title>`,
    `<style>${REPORT_STYLES}</style>`,
    '</head>',
    '<body>',
    '<main>',
    ...body,
    '</main>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

function renderHeadline(lineage: Lineage): string {
  const before = lineage.initial.objective;
  const after = lineage.final.objective;
  const delta = after - before;
  const relative = before !== 0 ? delta / Math.abs(before) : Number.NaN;
  const tone = delta < 0 ? 'better' : delta > 0 ? 'worse' : 'same';
  const cards = [
    card(
      'Objective (lower is better)',
      `${escapeMarkup(formatNumber(before))} → ${escapeMarkup(formatNumber(after))}`,
      `<span class="${tone}">${escapeMarkup(formatDelta(delta))}${Number.isFinite(relative) ? ` (${escapeMarkup(formatDelta(100 * relative, 2))}%)` : ''}</span>`,
    ),
  ];
  const best = comparableBestZoo(lineage);
  if (best !== undefined) {
    const margin = after - best.evaluated.objective;
    cards.push(
      card(
        best.calibrated ? 'Best single zoo model, calibrated' : 'Best single zoo model',
        escapeMarkup(formatNumber(best.evaluated.objective)),
        `<code>${escapeMarkup(best.id)}</code> · assembled is <span class="${margin < 0 ? 'better' : margin > 0 ? 'worse' : 'same'}">${margin < 0 ? 'better' : margin > 0 ? 'worse' : 'level'} by ${escapeMarkup(formatNumber(Math.abs(margin)))}</span>`,
      ),
    );
  } else {
    cards.push(card('Best single zoo model', '—', 'no zoo model can be evaluated on these tasks'));
  }
  const gap = lineage.baselines?.gapClosed;
  if (gap !== undefined) {
    cards.push(
      card(
        'Gap closed (accuracy)',
        gap.value === null ? '—' : escapeMarkup(formatNumber(gap.value, 2)),
        `from the best calibrated single model (0) to the calibrated ensemble (1), on the ${gap.on === 'report' ? 'report' : 'objective'} data`,
      ),
    );
  }
  cards.push(
    card('Stopped', escapeMarkup(lineage.stopReason), `backend ${escapeMarkup(lineage.backend)}`, 'prose'),
  );
  return `<section class="headline">${cards.join('')}</section>`;
}

/** Heal, in a section of its own after the baselines: training, never mixed with the training-free result. */
function renderHealSection(heal: LineageHeal, trainingFree: number): string[] {
  const head = ['<section id="heal">', '<h2>Heal (training)</h2>'];
  if (heal.status === 'skipped')
    return [
      ...head,
      `<p>The plan asked for heal; it was skipped: ${escapeMarkup(heal.reason)}.</p>`,
      '</section>',
    ];
  const members = heal.teacher.members.map((m) => `<code>${escapeMarkup(m.id)}</code>`).join(', ');
  const rows = [...heal.objective.tasks, ...heal.report].map(
    (r) =>
      `<tr><th scope="row"><code>${escapeMarkup(r.name)}</code></th><td class="num">${escapeMarkup(formatNumber(r.loss))}</td><td class="num">${escapeMarkup(formatPercent(r.accuracy))}</td></tr>`,
  );
  return [
    ...head,
    `<p><code>${escapeMarkup(heal.file)}</code> is <strong>not training-free</strong>: the written model trained by distillation for ${heal.options.steps} Adam steps (learning rate ${escapeMarkup(String(heal.options.learningRate))}, batch ${heal.options.batchSize}, temperature ${escapeMarkup(String(heal.options.temperature))}) to match the calibrated logit ensemble of ${members} on ${heal.examples} unlabelled examples of <code>${escapeMarkup(heal.options.data)}</code>${heal.calibration === undefined ? '' : ', then its output calibration re-fitted on the objective data'}, in ${escapeMarkup(heal.seconds.toFixed(1))} s. Distillation loss ${escapeMarkup(formatNumber(heal.loss.first))} → ${escapeMarkup(formatNumber(heal.loss.last))} (lowest ${escapeMarkup(formatNumber(heal.loss.min))}). Objective ${escapeMarkup(formatNumber(heal.objective.objective))}, against ${escapeMarkup(formatNumber(trainingFree))} for the training-free model.</p>`,
    `<div class="table-frame"><table class="tasks"><thead><tr><th scope="col">Data</th><th scope="col">Loss</th><th scope="col">Accuracy</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>`,
    `<p class="muted">sha256 ${escapeMarkup(heal.sha256)}</p>`,
    '</section>',
  ];
}

function card(
  label: string,
  valueHtml: string,
  noteHtml: string,
  kind: 'figure' | 'prose' = 'figure',
): string {
  return `<div class="card"><div class="card-label">${escapeMarkup(label)}</div><div class="card-value ${kind}">${valueHtml}</div><div class="card-note">${noteHtml}</div></div>`;
}

function renderRunFacts(lineage: Lineage): string {
  const facts: [string, string][] = [
    ['Plan', `<code>${escapeMarkup(lineage.plan)}</code>`],
    ['Base', `<code>${escapeMarkup(lineage.base.path)}</code> ${hash(lineage.base.sha256)}`],
    ['Assembled model', hash(lineage.final.sha256)],
    ['Backend', escapeMarkup(lineage.backend)],
    ['Stop reason', escapeMarkup(lineage.stopReason)],
    [
      `Zoo (${lineage.zoo.length})`,
      `<details><summary>${lineage.zoo.length} model${lineage.zoo.length === 1 ? '' : 's'}</summary><ul class="compact">${lineage.zoo
        .map((m) => `<li><code>${escapeMarkup(m.id)}</code> ${hash(m.sha256)}</li>`)
        .join('')}</ul></details>`,
    ],
    ...(lineage.skipped.length === 0
      ? []
      : [
          [
            `Left out (${lineage.skipped.length})`,
            `<ul class="compact">${lineage.skipped
              .map((m) => `<li><code>${escapeMarkup(m.id)}</code>: ${escapeMarkup(m.reason)}</li>`)
              .join('')}</ul>`,
          ] as [string, string],
        ]),
    ...((lineage.unalignable ?? []).length === 0
      ? []
      : [
          [
            `Never alignable (${lineage.unalignable!.length})`,
            `<details><summary>${lineage.unalignable!.length} candidate(s) dropped before the first step</summary><ul class="compact">${lineage
              .unalignable!.map(
                (u) =>
                  `<li><code>${escapeMarkup(u.candidate.model)}</code> ${renderLayerPairs(u.candidate, ', ')}: ${escapeMarkup(u.reason)}</li>`,
              )
              .join('')}</ul></details>`,
          ] as [string, string],
        ]),
  ];
  return `<dl class="facts">${facts.map(([k, v]) => `<dt>${escapeMarkup(k)}</dt><dd>${v}</dd>`).join('')}</dl>`;
}

function hash(sha256: string): string {
  return `<code class="hash" title="sha256 ${escapeMarkup(sha256)}">${escapeMarkup(abbreviateHash(sha256, 12))}</code>`;
}

function renderTaskTable(lineage: Lineage): string {
  const best = comparableBestZoo(lineage);
  const columns: { label: string; evaluated: Evaluated }[] = [
    { label: 'Base', evaluated: lineage.initial },
    { label: 'Assembled', evaluated: lineage.final },
  ];
  if (best !== undefined)
    columns.push({
      label: best.calibrated ? 'Best zoo model, calibrated' : 'Best zoo model',
      evaluated: best.evaluated,
    });
  const head = [
    '<th scope="col">Task</th><th scope="col">Data</th><th scope="col">Metric</th><th scope="col">Weight</th>',
    ...columns.map(
      (c) =>
        `<th scope="col" colspan="2">${escapeMarkup(c.label)}<br><span class="muted">loss · accuracy</span></th>`,
    ),
  ].join('');
  const rows = lineage.tasks.map((task) => {
    const cells = columns.map(({ evaluated }) => {
      const result = evaluated.tasks.find((t) => t.name === task.name);
      return result === undefined
        ? '<td class="num muted">—</td><td class="num muted">—</td>'
        : `<td class="num">${escapeMarkup(formatNumber(result.loss))}</td><td class="num">${escapeMarkup(formatPercent(result.accuracy))}</td>`;
    });
    return `<tr><th scope="row">${escapeMarkup(task.name)}</th><td><code>${escapeMarkup(task.data)}</code></td><td>${escapeMarkup(task.metric)}${task.scoring === 'calibrated' ? ', scored calibrated' : ''}</td><td class="num">${escapeMarkup(formatNumber(task.weight, 2))}</td>${cells.join('')}</tr>`;
  });
  const objectiveRow = `<tr class="total"><th scope="row" colspan="4">Objective</th>${columns
    .map((c) => `<td class="num" colspan="2">${escapeMarkup(formatNumber(c.evaluated.objective))}</td>`)
    .join('')}</tr>`;
  return `<div class="table-frame"><table class="tasks"><thead><tr>${head}</tr></thead><tbody>${rows.join('')}${objectiveRow}</tbody></table></div>`;
}

/** Indented JSON with arrays of plain values (a λ grid) kept on one line, so the options fit on a screen. */
function compactJson(value: unknown, indent = ''): string {
  if (Array.isArray(value)) {
    if (value.every((v) => v === null || typeof v !== 'object'))
      return `[${value.map((v) => JSON.stringify(v) ?? 'null').join(', ')}]`;
    const inner = `${indent}  `;
    return `[\n${value.map((v) => `${inner}${compactJson(v, inner)}`).join(',\n')}\n${indent}]`;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return '{}';
    const inner = `${indent}  `;
    return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${compactJson(v, inner)}`).join(',\n')}\n${indent}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** What the loop's numbers are when tasks were scored calibrated: not the raw values the baselines list. */
export function scoringNote(lineage: Lineage): string {
  return scoredCalibrated(lineage)
    ? ' Tasks marked scored calibrated measure every model after re-fitting its output biases on the task’s data, so the objective values of the steps are not the raw values of the baselines.'
    : '';
}
