import type { LineageStep, ScoredCandidate } from '../assembly/lineage.js';
import { sameCandidate } from './candidate-identity.js';
import { renderLambdaCurveSvg, renderRejectedCurvesSvg } from './lambda-curve-chart.js';
import { renderLayerPairs } from './lineage-table.js';
import { escapeMarkup } from './markup-escape.js';
import { abbreviateHash, formatDelta, formatLambda, formatNumber, formatSeconds } from './number-format.js';
import { stepColor } from './report-palette.js';

/**
 * One step of the run: what it merged (or why nothing), its λ curve, and every candidate it considered, scored,
 * pruned by the pre-score or failed, folded away so the page stays short.
 */
export function renderStepSectionHtml(step: LineageStep, stepNumber: number): string {
  const accepted = step.accepted;
  const color = stepColor(stepNumber);
  const delta = step.objectiveAfter - step.objectiveBefore;
  const heading =
    accepted === null
      ? `Step ${stepNumber}: nothing accepted`
      : `Step ${stepNumber}: ${accepted.candidate.model}`;
  const lead =
    accepted === null
      ? `<p>No candidate qualified (λ* at least λ<sub>min</sub> and a better objective), so the run stopped here. The objective stays at ${escapeMarkup(formatNumber(step.objectiveBefore))}.</p>`
      : `<p>Merged ${renderLayerPairs(accepted.candidate, ', ')} at λ = ${escapeMarkup(formatLambda(accepted.lambda))} (λ* = ${escapeMarkup(formatLambda(accepted.threshold))}, pre-score ${escapeMarkup(formatNumber(accepted.preScore, 3))}). Objective ${escapeMarkup(formatNumber(step.objectiveBefore))} → ${escapeMarkup(formatNumber(step.objectiveAfter))} (${escapeMarkup(formatDelta(delta))}).</p>`;
  const chart =
    accepted !== null
      ? renderLambdaCurveSvg(step, stepNumber)
      : step.scored.length > 0
        ? renderRejectedCurvesSvg(step, stepNumber)
        : '';
  return [
    `<section class="step" id="step-${stepNumber}" style="border-left-color:${color}">`,
    `<h3><span class="step-badge" style="background:${color}">${stepNumber}</span> ${escapeMarkup(heading)}</h3>`,
    lead,
    chart === '' ? '' : `<div class="chart-frame">${chart}</div>`,
    '<details>',
    `<summary>Candidates: ${step.scored.length} scored, ${step.pruned.length} pruned by the pre-score, ${step.failed.length} failed · ${escapeMarkup(formatSeconds(step.seconds))}</summary>`,
    renderScoredTable(step.scored, accepted),
    renderPruned(step),
    renderFailed(step),
    `<p class="muted small">State before <code title="${escapeMarkup(step.stateBefore)}">${escapeMarkup(abbreviateHash(step.stateBefore, 12))}</code>, after <code title="${escapeMarkup(step.stateAfter)}">${escapeMarkup(abbreviateHash(step.stateAfter, 12))}</code> (sha256 of the tensors).</p>`,
    '</details>',
    '</section>',
  ].join('\n');
}

function renderScoredTable(scored: readonly ScoredCandidate[], accepted: ScoredCandidate | null): string {
  if (scored.length === 0) return '<p class="muted">No candidate was scored along the λ grid.</p>';
  const rows = scored.map((s) => {
    const status =
      accepted !== null && sameCandidate(s.candidate, accepted.candidate)
        ? '<span class="better">accepted</span>'
        : escapeMarkup(s.rejected ?? 'not the best');
    return `<tr><td><code>${escapeMarkup(s.candidate.model)}</code></td><td>${renderLayerPairs(s.candidate)}</td><td class="num">${escapeMarkup(formatNumber(s.preScore, 3))}</td><td class="num">${escapeMarkup(formatLambda(s.threshold))}</td><td class="num">${escapeMarkup(formatLambda(s.lambda))}</td><td class="num">${escapeMarkup(formatNumber(s.objectiveAtLambda))}</td><td>${status}</td></tr>`;
  });
  return [
    '<table class="candidates">',
    '<thead><tr><th>Zoo model</th><th>Layers</th><th>Pre-score</th><th>λ*</th><th>λ</th><th>Objective at λ</th><th>Outcome</th></tr></thead>',
    `<tbody>${rows.join('')}</tbody>`,
    '</table>',
  ].join('\n');
}

function renderPruned(step: LineageStep): string {
  if (step.pruned.length === 0) return '';
  const items = step.pruned.map(
    (p) =>
      `<li><code>${escapeMarkup(p.candidate.model)}</code> ${renderLayerPairs(p.candidate)}: pre-score ${escapeMarkup(formatNumber(p.preScore, 3))}</li>`,
  );
  return `<h4>Pruned by the pre-score</h4><ul class="compact">${items.join('')}</ul>`;
}

function renderFailed(step: LineageStep): string {
  if (step.failed.length === 0) return '';
  const items = step.failed.map(
    (f) =>
      `<li><code>${escapeMarkup(f.candidate.model)}</code> ${renderLayerPairs(f.candidate)}: <span class="worse">${escapeMarkup(f.reason)}</span></li>`,
  );
  return `<h4>Failed</h4><ul class="compact">${items.join('')}</ul>`;
}
