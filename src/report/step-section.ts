import type { CandidateRanking, Fusion, LineageStep, ScoredCandidate } from '../assembly/lineage.js';
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
  const fusion = accepted?.fusion === undefined ? '' : renderFusion(accepted.fusion);
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
    fusion,
    chart === '' ? '' : `<div class="chart-frame">${chart}</div>`,
    '<details>',
    `<summary>Candidates: ${step.scored.length} scored, ${step.pruned.length} pruned before the λ grid, ${step.failed.length} failed · ${escapeMarkup(formatSeconds(step.seconds))}</summary>`,
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
      `<li><code>${escapeMarkup(p.candidate.model)}</code> ${renderLayerPairs(p.candidate)}: ${escapeMarkup(rankingText(p.preScore, p.rankedBy))}</li>`,
  );
  return `<h4>Pruned before the λ grid</h4><ul class="compact">${items.join('')}</ul>`;
}

/** What a candidate was ranked by, in words; a lineage from before rankings were recorded has only the value. */
function rankingText(value: number, ranking: CandidateRanking | undefined): string {
  const shown = formatNumber(value, 3);
  if (ranking === undefined) return `pre-score ${shown}`;
  if (ranking.by === 'alignment') return `weight cosine ${shown}`;
  const where = `best objective ${formatNumber(-ranking.value)} at λ = ${shortLambda(ranking.lambda)} of ${(ranking.lambdas ?? []).map(shortLambda).join(', ')} on ${ranking.examples} examples per task`;
  return ranking.by === 'probe' ? `probe: ${where}` : `dropped in halving round ${ranking.round}: ${where}`;
}

/** Halving's refined λ values have up to three decimals (0.175), which two would round away. */
function shortLambda(lambda: number | undefined): string {
  return lambda === undefined ? '—' : String(Number(lambda.toFixed(3)));
}

/** The donors a step merged, with their weights (per layer where a λ per layer was chosen). */
function renderFusion(fusion: Fusion): string {
  const weightSum = fusion.donors.reduce((sum, d) => sum + d.weight, 0);
  const rows = fusion.donors.map((d) => {
    const perLayer =
      d.layerWeights === undefined
        ? '<span class="muted">—</span>'
        : Object.entries(d.layerWeights)
            .map(([layer, w]) => `<code>${escapeMarkup(layer)}</code> ${escapeMarkup(formatLambda(w))}`)
            .join(', ');
    return `<tr><td><code>${escapeMarkup(d.candidate.model)}</code></td><td>${renderLayerPairs(d.candidate)}</td><td class="num">${escapeMarkup(formatNumber(d.weight, 4))}</td><td>${perLayer}</td></tr>`;
  });
  const declined =
    fusion.declined.length === 0
      ? ''
      : `<p class="muted small">Tried and not kept: ${fusion.declined
          .map(
            (d) =>
              `<code>${escapeMarkup(d.candidate.model)}</code> (best objective ${escapeMarkup(formatNumber(d.objective))})`,
          )
          .join(', ')}.</p>`;
  const base = fusion.donors.some((d) => d.layerWeights !== undefined)
    ? 'per layer, 1 − the donors’ weights'
    : formatNumber(1 - weightSum, 4);
  return [
    `<p>Merged ${fusion.donors.length} donor${fusion.donors.length === 1 ? '' : 's'} into the same layers (base weight ${escapeMarkup(base)}); objective ${escapeMarkup(formatNumber(fusion.objective))} after ${fusion.evaluations} further evaluation${fusion.evaluations === 1 ? '' : 's'}.</p>`,
    '<table class="candidates">',
    '<thead><tr><th>Donor</th><th>Layers</th><th>Weight</th><th>Weight per layer</th></tr></thead>',
    `<tbody>${rows.join('')}</tbody>`,
    '</table>',
    declined,
  ].join('\n');
}

function renderFailed(step: LineageStep): string {
  if (step.failed.length === 0) return '';
  const items = step.failed.map(
    (f) =>
      `<li><code>${escapeMarkup(f.candidate.model)}</code> ${renderLayerPairs(f.candidate)}: <span class="worse">${escapeMarkup(f.reason)}</span></li>`,
  );
  return `<h4>Failed</h4><ul class="compact">${items.join('')}</ul>`;
}
