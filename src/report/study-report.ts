/*
 * PLACEHOLDER: the study report's real renderer (heat maps, λ curves, laws) is written on the report branch and
 * replaces this file when merged. It keeps the same signature and renders the rows as a plain table, so
 * `mal study` writes a report.html meanwhile.
 */
import type { StudyModelInfo, StudyRow } from '../study/study-row.js';
import { escapeMarkup } from './markup-escape.js';

export interface StudyReportMeta {
  readonly title: string;
  readonly studyFile: string;
  readonly models: readonly StudyModelInfo[];
  readonly excludedPairs: number;
}

export function renderStudyReport(rows: readonly StudyRow[], meta: StudyReportMeta): string {
  const columns = [
    'base',
    'target',
    'relation',
    'position',
    'aligned',
    'widthRatio',
    'meanLoss',
    'barrier',
    'threshold',
    'accuracyAtHalf',
  ] as const;
  const cell = (value: unknown): string =>
    `<td>${escapeMarkup(typeof value === 'number' ? value.toPrecision(4) : String(value))}</td>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeMarkup(meta.title)}</title></head>
<body>
<h1>${escapeMarkup(meta.title)}</h1>
<p>${rows.length} cells over ${meta.models.length} models from ${escapeMarkup(meta.studyFile)}; ${meta.excludedPairs} ordered pairs excluded (no layer could pair).</p>
<table>
<thead><tr>${columns.map((c) => `<th>${c}</th>`).join('')}</tr></thead>
<tbody>
${rows.map((r) => `<tr>${columns.map((c) => cell(r[c])).join('')}</tr>`).join('\n')}
</tbody>
</table>
</body></html>
`;
}
