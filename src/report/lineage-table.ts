import type { CandidateRef, Lineage, LineageStep } from '../assembly/lineage.js';
import { escapeMarkup } from './markup-escape.js';
import { abbreviateHash, formatDelta, formatLambda, formatNumber, formatSeconds } from './number-format.js';
import { stepColor } from './report-palette.js';

export const LINEAGE_TABLE_ID = 'lineage-table';

const HEADERS = [
  'Step',
  'Zoo model',
  'Zoo layers → base layers',
  'Pre-score',
  'λ*',
  'λ',
  'Objective before → after (lower is better)',
  'Candidates scored / pruned / failed',
  'Time',
  'Maps',
];

/** One row per step, accepted or not: the lineage at a glance, with hashes cut short (whole in the tooltip). */
export function renderLineageTableHtml(lineage: Lineage): string {
  const rows = lineage.steps.map((step, i) => renderRow(step, i + 1));
  return [
    `<table id="${LINEAGE_TABLE_ID}" class="lineage-table">`,
    `<thead><tr>${HEADERS.map((h) => `<th scope="col">${escapeMarkup(h)}</th>`).join('')}</tr></thead>`,
    '<tbody>',
    ...rows,
    '</tbody>',
    '</table>',
  ].join('\n');
}

function renderRow(step: LineageStep, stepNumber: number): string {
  const counts = `${step.scored.length} / ${step.pruned.length} / ${step.failed.length}`;
  const objective = renderObjectiveChange(step);
  const stepCell = `<th scope="row"><span class="step-badge" style="background:${stepColor(stepNumber)}">${stepNumber}</span></th>`;
  const accepted = step.accepted;
  if (accepted === null) {
    return [
      `<tr class="step-row not-accepted" data-step="${stepNumber}">`,
      stepCell,
      `<td colspan="5" class="muted">nothing accepted: no candidate improved the objective with λ* ≥ λ<sub>min</sub></td>`,
      `<td class="num">${objective}</td>`,
      `<td class="num">${counts}</td>`,
      `<td class="num">${escapeMarkup(formatSeconds(step.seconds))}</td>`,
      '<td class="muted">—</td>',
      '</tr>',
    ].join('');
  }
  const maps = Object.entries(accepted.mapHashes)
    .map(
      ([space, hash]) =>
        `<span class="hash" title="${escapeMarkup(`${space}: ${hash}`)}">${escapeMarkup(space)}: <code>${escapeMarkup(abbreviateHash(hash))}</code></span>`,
    )
    .join('<br>');
  return [
    `<tr class="step-row accepted" data-step="${stepNumber}">`,
    stepCell,
    `<td><code>${escapeMarkup(accepted.candidate.model)}</code></td>`,
    `<td>${renderLayerPairs(accepted.candidate)}</td>`,
    `<td class="num">${escapeMarkup(formatNumber(accepted.preScore, 3))}</td>`,
    `<td class="num">${escapeMarkup(formatLambda(accepted.threshold))}</td>`,
    `<td class="num">${escapeMarkup(formatLambda(accepted.lambda))}</td>`,
    `<td class="num">${objective}</td>`,
    `<td class="num">${counts}</td>`,
    `<td class="num">${escapeMarkup(formatSeconds(step.seconds))}</td>`,
    `<td class="maps">${maps === '' ? '<span class="muted">—</span>' : maps}</td>`,
    '</tr>',
  ].join('');
}

/** Each zoo layer with the base layer it went into; one pair a line unless `separator` says otherwise. */
export function renderLayerPairs(candidate: CandidateRef, separator = '<br>'): string {
  return candidate.layers
    .map(
      (layer, k) =>
        `<code>${escapeMarkup(layer)}</code> → <code>${escapeMarkup(candidate.baseLayers[k] ?? '?')}</code>`,
    )
    .join(separator);
}

function renderObjectiveChange(step: LineageStep): string {
  const delta = step.objectiveAfter - step.objectiveBefore;
  const tone = delta < 0 ? 'better' : delta > 0 ? 'worse' : 'same';
  return `${escapeMarkup(formatNumber(step.objectiveBefore))} → ${escapeMarkup(formatNumber(step.objectiveAfter))}<br><span class="delta ${tone}">(${escapeMarkup(formatDelta(delta))})</span>`;
}
