import { median } from '../study/median.js';
import type { StudyLaw } from '../study/study-laws.js';
import { comparePositions, studyLaws } from '../study/study-laws.js';
import type { DataRelation, StudyModelInfo, StudyPosition, StudyRow } from '../study/study-row.js';
import type { HeatMapBin } from './heat-map.js';
import { renderHeatMapSvg } from './heat-map.js';
import { escapeMarkup } from './markup-escape.js';
import { abbreviateHash, formatLambda, formatNumber, formatPercent } from './number-format.js';
import { REPORT_STYLES } from './report-styles.js';
import type { ColorScale } from './sequential-color-scale.js';
import { colorScaleOver, renderColorLegendSvg } from './sequential-color-scale.js';
import { architectureOrder } from './study-architecture-order.js';
import { renderMedianCurvesSvg } from './study-median-curves.js';
import { STUDY_REPORT_STYLES } from './study-report-styles.js';
import { renderWidthRatioScatterSvg } from './width-ratio-scatter.js';

export interface StudyReportMeta {
  title: string;
  studyFile: string;
  models: readonly StudyModelInfo[];
  excludedPairs: number;
}

/** Relations in order of how far apart the two training sets are. */
const RELATION_ORDER: readonly DataRelation[] = ['same', 'split', 'different'];
const RELATION_LABEL: Record<DataRelation, string> = {
  same: 'same data',
  split: 'split data (same domain)',
  different: 'different data',
};

interface Metric {
  readonly key: 'loss' | 'threshold';
  readonly heading: string;
  readonly valueName: string;
  readonly pick: (row: StudyRow) => number;
  readonly format: (value: number) => string;
  readonly note: string;
}

const METRICS: readonly Metric[] = [
  {
    key: 'loss',
    heading: 'Mean-LMC loss',
    valueName: 'median mean-LMC loss',
    pick: (r) => r.meanLoss,
    format: (v) => formatNumber(v, 2),
    note: 'lower: better connected',
  },
  {
    key: 'threshold',
    heading: 'Merge-factor threshold λ*',
    valueName: 'median λ*',
    pick: (r) => r.threshold,
    format: formatLambda,
    note: 'higher: merges further',
  },
];

/**
 * The study's report: ONE self-contained HTML page (inline CSS and SVG, no script, no URL), computed from the
 * result rows alone: the summary, heat maps per position and data relation, λ* against the width ratio, median
 * λ curves, the laws, and every row. Every string from the rows and the models is escaped.
 */
export function renderStudyReport(rows: readonly StudyRow[], meta: StudyReportMeta): string {
  const laws = studyLaws(rows);
  const archs = architectureOrder(rows, meta.models);
  const curves = renderMedianCurvesSvg(rows);
  const body = [
    '<header>',
    `<h1>${escapeMarkup(meta.title)}</h1>`,
    `<p class="subtitle">Study <code>${escapeMarkup(meta.studyFile)}</code> · ${plural(rows.length, 'cell')} · ${plural(meta.models.length, 'model')}</p>`,
    '</header>',
    renderSummary(rows, meta, archs),
    '<section id="laws">',
    '<h2>Laws</h2>',
    '<p class="muted">Each sentence is computed from the table below: which side wins, the sign and size of a rank correlation, the medians and counts. A law with too few cells says so.</p>',
    renderLaws(laws),
    '</section>',
    ...METRICS.map((metric) => renderHeatMapSection(rows, archs, metric)),
    '<section id="width-ratio">',
    '<h2>λ* against the width ratio</h2>',
    '<p class="muted">Width ratio = width of the target’s transplanted spaces / the base’s. Left of the dashed line a narrower layer goes into a wider base; right of it, a wider layer into a narrower base.</p>',
    rows.length === 0
      ? '<p class="empty">No cells were measured.</p>'
      : `<div class="chart-frame">${renderWidthRatioScatterSvg(rows, 'ratio-scatter')}</div>`,
    '</section>',
    '<section id="curves">',
    '<h2>Median λ curves</h2>',
    '<p class="muted">The median loss at each λ over the cells of a position, data relation and alignment (solid: aligned, dashed: naive; cell counts in brackets).</p>',
    curves === undefined
      ? '<p class="empty">No cell has a λ curve.</p>'
      : `<div class="chart-frame">${curves}</div>`,
    '</section>',
    '<section id="rows">',
    '<h2>Cells</h2>',
    renderRowsTable(rows),
    '</section>',
  ];
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeMarkup(meta.title)}</title>`,
    `<style>${REPORT_STYLES}${STUDY_REPORT_STYLES}</style>`,
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

function renderSummary(rows: readonly StudyRow[], meta: StudyReportMeta, archs: readonly string[]): string {
  const pairs = new Set(rows.map((r) => `${r.base}\0${r.target}`)).size;
  const cards = [
    card('Cells', String(rows.length), 'measured (base, target, position, alignment) cells'),
    card('Pairs', String(pairs), 'base → target model pairs'),
    card('Models', String(meta.models.length), `${plural(archs.length, 'architecture')}`),
    card('Excluded pairs', String(meta.excludedPairs), 'pairs the study could not transplant'),
  ];
  const positions = countBy(rows, (r) => r.position, comparePositions);
  const relations = countBy(
    rows,
    (r) => r.relation,
    (a, b) => RELATION_ORDER.indexOf(a) - RELATION_ORDER.indexOf(b),
  );
  const aligned = rows.filter((r) => r.aligned).length;
  const evalData = [...new Set(rows.map((r) => r.evalData))].sort();
  const listed = (entries: readonly [string, number][]) =>
    entries.length === 0
      ? '<span class="muted">none</span>'
      : entries.map(([k, n]) => `${escapeMarkup(k)} (${n})`).join(', ');
  const facts: [string, string][] = [
    ['Study file', `<code>${escapeMarkup(meta.studyFile)}</code>`],
    ['Positions', listed(positions)],
    ['Data relations', listed(relations)],
    ['Alignment', `${aligned} aligned, ${rows.length - aligned} naive`],
    [
      'Evaluation data',
      evalData.length === 0
        ? '<span class="muted">none</span>'
        : evalData.map((d) => `<code>${escapeMarkup(d)}</code>`).join(', '),
    ],
    [
      'Architectures (axis order)',
      archs.length === 0
        ? '<span class="muted">none</span>'
        : archs.map((a) => `<code>${escapeMarkup(a)}</code>`).join(' · '),
    ],
    [
      `Models (${meta.models.length})`,
      `<details><summary>${plural(meta.models.length, 'model')}</summary><ul class="compact">${meta.models
        .map(
          (m) =>
            `<li><code>${escapeMarkup(m.id)}</code>: ${escapeMarkup(m.arch)}, depth ${m.depth}, trained on ${escapeMarkup(m.data)} (${escapeMarkup(m.domain)}) <code class="hash" title="sha256 ${escapeMarkup(m.sha256)}">${escapeMarkup(abbreviateHash(m.sha256, 12))}</code></li>`,
        )
        .join('')}</ul></details>`,
    ],
  ];
  return [
    `<section id="summary" class="headline four">${cards.join('')}</section>`,
    `<dl class="facts">${facts.map(([k, v]) => `<dt>${escapeMarkup(k)}</dt><dd>${v}</dd>`).join('')}</dl>`,
  ].join('\n');
}

function renderLaws(laws: readonly StudyLaw[]): string {
  const items = laws.map((law) => {
    // A sentence that names its own subject (every "not enough cells" one) gets that name in bold, not twice.
    const named = law.sentence.startsWith(`${law.title}:`);
    const text = named
      ? `<strong>${escapeMarkup(law.title)}:</strong>${escapeMarkup(law.sentence.slice(law.title.length + 1))}`
      : `<strong>${escapeMarkup(law.title)}.</strong> ${escapeMarkup(law.sentence)}`;
    return `<li id="law-${law.id}" class="law${law.enough ? '' : ' not-enough'}">${text} <span class="law-n">n = ${law.n}</span></li>`;
  });
  return `<ol class="laws">${items.join('')}</ol>`;
}

/**
 * One map per position × data relation present in the rows, aligned and naive. All maps of a metric share one colour scale (λ* always 0 to 1), so colours compare across maps.
 */
function renderHeatMapSection(rows: readonly StudyRow[], archs: readonly string[], metric: Metric): string {
  const head = [
    `<section id="heat-maps-${metric.key}">`,
    `<h2>Heat maps: ${escapeMarkup(metric.heading)}</h2>`,
    `<p class="muted">Rows: base architecture; columns: target architecture; ordered by width, then depth. Each bin is the ${escapeMarkup(metric.valueName)} over the cells of that pair of architectures (hover for the count).</p>`,
  ];
  if (rows.length === 0)
    return [...head, '<p class="empty">No cells were measured.</p>', '</section>'].join('\n');
  const positions = [...new Set(rows.map((r) => r.position))].sort(comparePositions);
  const relations = RELATION_ORDER.filter((rel) => rows.some((r) => r.relation === rel));
  const alignments = [true, false].filter((a) => rows.some((r) => r.aligned === a));
  const maps: { position: StudyPosition; relation: DataRelation; bins: Map<boolean, HeatMapBin[][]> }[] = [];
  for (const relation of relations) {
    for (const position of positions) {
      const here = rows.filter((r) => r.position === position && r.relation === relation);
      if (here.length === 0) continue;
      const bins = new Map<boolean, HeatMapBin[][]>();
      for (const aligned of alignments) {
        bins.set(
          aligned,
          binByArchitecture(
            here.filter((r) => r.aligned === aligned),
            archs,
            metric.pick,
          ),
        );
      }
      maps.push({ position, relation, bins });
    }
  }
  const scale: ColorScale = colorScaleOver(
    maps.flatMap((m) => [...m.bins.values()].flat(2).map((b) => b.value ?? Number.NaN)),
    metric.key === 'threshold' ? { min: 0, max: 1 } : undefined,
  );
  const legend = renderColorLegendSvg({
    id: `legend-${metric.key}`,
    label: metric.heading,
    scale,
    format: metric.format,
    note: metric.note,
  });
  // One figure per data relation: a row of aligned maps, one per position, and a row of naive maps under it, so
  // positions compare along a row and alignment down a column.
  const figures = relations.map((relation) => {
    const here = maps.filter((m) => m.relation === relation);
    const lines = alignments.map((aligned) => {
      const kind = aligned ? 'aligned' : 'naive';
      const svgs = here.map(({ position, bins }) =>
        renderHeatMapSvg({
          id: `heat-${metric.key}-${slug(position)}-${relation}-${kind}`,
          className: `heat-map-${metric.key} ${kind}`,
          title: `${position} · ${kind}`,
          description: `${metric.heading}, ${kind}, ${position} layers, ${RELATION_LABEL[relation]}: base architecture (rows) against target architecture (columns)`,
          rowLabels: archs,
          columnLabels: archs,
          bins: bins.get(aligned)!,
          scale,
          format: metric.format,
          valueName: metric.valueName,
        }),
      );
      return `<div class="heat-maps ${kind}">${svgs.join('')}</div>`;
    });
    return `<figure id="heat-${metric.key}-${relation}" class="heat-relation" data-relation="${relation}"><figcaption>${escapeMarkup(RELATION_LABEL[relation])}</figcaption>${lines.join('')}</figure>`;
  });
  return [...head, `<div class="legend-frame">${legend}</div>`, ...figures, '</section>'].join('\n');
}

/** bins[i][j]: the median of `pick` over the rows from archs[i] (base) to archs[j] (target). */
function binByArchitecture(
  rows: readonly StudyRow[],
  archs: readonly string[],
  pick: (row: StudyRow) => number,
): HeatMapBin[][] {
  const index = new Map(archs.map((a, i) => [a, i]));
  const values: number[][][] = archs.map(() => archs.map(() => []));
  for (const row of rows) {
    const i = index.get(row.baseArch);
    const j = index.get(row.targetArch);
    if (i !== undefined && j !== undefined) values[i][j].push(pick(row));
  }
  return values.map((line) =>
    line.map((v) => ({ value: median(v), count: v.length, finite: v.filter(Number.isFinite).length })),
  );
}

function renderRowsTable(rows: readonly StudyRow[]): string {
  const head = [
    'Cell',
    'Base',
    'Target',
    'Base arch',
    'Target arch',
    'Relation',
    'Position',
    'Layers',
    'Widths',
    'Ratio',
    'Aligned',
    'Mean loss',
    'Barrier',
    'λ*',
    'Acc. at λ = 0.5',
  ]
    .map((h) => `<th scope="col">${escapeMarkup(h)}</th>`)
    .join('');
  const body = rows.map((r) => {
    const cells = [
      `<td><code class="hash" title="${escapeMarkup(r.cell)}">${escapeMarkup(abbreviateHash(r.cell))}</code></td>`,
      `<td><code>${escapeMarkup(r.base)}</code></td>`,
      `<td><code>${escapeMarkup(r.target)}</code></td>`,
      `<td>${escapeMarkup(r.baseArch)}</td>`,
      `<td>${escapeMarkup(r.targetArch)}</td>`,
      `<td>${escapeMarkup(r.relation)}</td>`,
      `<td>${escapeMarkup(r.position)}</td>`,
      `<td><code>${escapeMarkup(r.baseLayers)}</code> ← <code>${escapeMarkup(r.targetLayers)}</code></td>`,
      `<td class="num">${r.baseWidth} ← ${r.targetWidth}</td>`,
      `<td class="num">${escapeMarkup(formatNumber(r.widthRatio, 3))}</td>`,
      `<td>${r.aligned ? 'aligned' : 'naive'}</td>`,
      `<td class="num">${escapeMarkup(formatNumber(r.meanLoss))}</td>`,
      `<td class="num">${escapeMarkup(formatNumber(r.barrier))}</td>`,
      `<td class="num">${escapeMarkup(formatLambda(r.threshold))}</td>`,
      `<td class="num">${escapeMarkup(formatPercent(r.accuracyAtHalf))}</td>`,
    ];
    return `<tr>${cells.join('')}</tr>`;
  });
  return `<details><summary>All ${plural(rows.length, 'cell')}, as in the table file</summary><div class="table-frame"><table id="study-rows" class="study-rows"><thead><tr>${head}</tr></thead><tbody>${body.join('')}</tbody></table></div></details>`;
}

function card(label: string, value: string, note: string): string {
  return `<div class="card"><div class="card-label">${escapeMarkup(label)}</div><div class="card-value">${escapeMarkup(value)}</div><div class="card-note">${escapeMarkup(note)}</div></div>`;
}

function countBy<K extends string>(
  rows: readonly StudyRow[],
  key: (row: StudyRow) => K,
  compare: (a: K, b: K) => number,
): [K, number][] {
  const counts = new Map<K, number>();
  for (const row of rows) counts.set(key(row), (counts.get(key(row)) ?? 0) + 1);
  return [...counts.entries()].sort(([a], [b]) => compare(a, b));
}

/** A position as an id fragment: `layer-3` stays, anything outside [A-Za-z0-9_-] becomes `_`. */
function slug(text: string): string {
  return text.replace(/[^A-Za-z0-9_-]/g, '_');
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
