import type { LmcPoint } from '../eval/lmc-metrics.js';
import { escapeMarkup as escapeXml } from './markup-escape.js';

export interface LmcSeries {
  readonly label: string;
  readonly points: readonly LmcPoint[];
  /** λ* to mark with a dashed line, if any. */
  readonly threshold?: number;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf'];
const PANEL = { width: 380, height: 260, left: 56, right: 14, top: 34, bottom: 42 };

/**
 * A self-contained SVG with two panels, loss and accuracy against λ, one line per series and λ* dashed.
 * Written by hand so a report needs no plotting library and opens anywhere.
 */
export function renderLmcPlotSvg(title: string, series: readonly LmcSeries[]): string {
  const width = PANEL.width * 2;
  const height = PANEL.height + 30;
  const parts = [
    // An image to assistive technology, named by its title and described by the numbers it shows.
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="lmc-plot-title" aria-describedby="lmc-plot-desc" font-family="sans-serif" font-size="11">`,
    `<title id="lmc-plot-title">${escapeXml(`Linear mode connectivity: ${title}`)}</title>`,
    `<desc id="lmc-plot-desc">${escapeXml(describeSeries(series))}</desc>`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="16" text-anchor="middle" font-size="13">${escapeXml(title)}</text>`,
    panel(series, 'loss', 'loss (cross-entropy)', 0),
    panel(series, 'accuracy', 'accuracy', PANEL.width),
    legend(series, height - 8),
    '</svg>',
  ];
  return `${parts.join('\n')}\n`;
}

function panel(series: readonly LmcSeries[], key: 'loss' | 'accuracy', label: string, x0: number): string {
  const values = series.flatMap((s) => s.points.map((p) => p[key]));
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (key === 'accuracy') {
    lo = Math.min(lo, 1);
    hi = Math.min(Math.max(hi, lo), 1);
  }
  if (hi - lo < 1e-9) {
    hi += 0.5;
    lo -= 0.5;
  }
  const pad = (hi - lo) * 0.05;
  lo -= pad;
  hi += pad;
  const plotW = PANEL.width - PANEL.left - PANEL.right;
  const plotH = PANEL.height - PANEL.top - PANEL.bottom;
  const px = (lambda: number) => x0 + PANEL.left + lambda * plotW;
  const py = (v: number) => PANEL.top + (1 - (v - lo) / (hi - lo)) * plotH;
  const out: string[] = [
    `<g class="panel-${key}">`,
    `<rect x="${x0 + PANEL.left}" y="${PANEL.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#888"/>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const lambda = i / 5;
    out.push(
      `<text x="${fmt(px(lambda))}" y="${PANEL.top + plotH + 14}" text-anchor="middle">${lambda.toFixed(1)}</text>`,
    );
    const v = lo + ((hi - lo) * i) / 5;
    out.push(
      `<line x1="${x0 + PANEL.left}" x2="${x0 + PANEL.left + plotW}" y1="${fmt(py(v))}" y2="${fmt(py(v))}" stroke="#eee"/>`,
      `<text x="${x0 + PANEL.left - 4}" y="${fmt(py(v) + 3)}" text-anchor="end">${v.toPrecision(3)}</text>`,
    );
  }
  out.push(
    `<text x="${x0 + PANEL.left + plotW / 2}" y="${PANEL.top + plotH + 30}" text-anchor="middle">λ (0 = base, 1 = target)</text>`,
    `<text x="${x0 + 12}" y="${PANEL.top + plotH / 2}" text-anchor="middle" transform="rotate(-90 ${x0 + 12} ${PANEL.top + plotH / 2})">${label}</text>`,
  );
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const path = s.points
      .map((p, k) => `${k === 0 ? 'M' : 'L'}${fmt(px(p.lambda))},${fmt(py(p[key]))}`)
      .join(' ');
    out.push(`<path d="${path}" fill="none" stroke="${color}" stroke-width="2"/>`);
    for (const p of s.points)
      out.push(`<circle cx="${fmt(px(p.lambda))}" cy="${fmt(py(p[key]))}" r="2.5" fill="${color}"/>`);
    if (s.threshold !== undefined) {
      out.push(
        `<line x1="${fmt(px(s.threshold))}" x2="${fmt(px(s.threshold))}" y1="${PANEL.top}" y2="${PANEL.top + plotH}" stroke="${color}" stroke-dasharray="4 3"/>`,
      );
    }
  });
  out.push('</g>');
  return out.join('\n');
}

function legend(series: readonly LmcSeries[], y: number): string {
  return series
    .map((s, i) => {
      const x = 70 + i * 260;
      const color = COLORS[i % COLORS.length];
      const star = s.threshold === undefined ? '' : ` (λ* = ${s.threshold})`;
      return `<line x1="${x}" x2="${x + 18}" y1="${y - 4}" y2="${y - 4}" stroke="${color}" stroke-width="2"/><text x="${x + 24}" y="${y}">${escapeXml(s.label + star)}</text>`;
    })
    .join('\n');
}

/** The plot in words: for each series, the loss and accuracy at both ends, the worst loss and λ*. */
function describeSeries(series: readonly LmcSeries[]): string {
  const lines = series.map((s) => {
    if (s.points.length === 0) return `${s.label}: no points.`;
    const first = s.points[0];
    const last = s.points[s.points.length - 1];
    const worst = s.points.reduce((a, b) => (b.loss > a.loss ? b : a));
    const star = s.threshold === undefined ? '' : ` λ* = ${s.threshold}.`;
    return (
      `${s.label}: loss ${first.loss.toPrecision(4)} at λ = ${first.lambda} and ${last.loss.toPrecision(4)} at λ = ${last.lambda}, ` +
      `highest ${worst.loss.toPrecision(4)} at λ = ${worst.lambda}; accuracy ${(100 * first.accuracy).toFixed(1)}% and ` +
      `${(100 * last.accuracy).toFixed(1)}%.${star}`
    );
  });
  return [
    'Loss (cross-entropy, lower is better) and accuracy (higher is better) of (1−λ)·base + λ·target, λ from 0 (base) to 1 (target).',
    ...lines,
  ].join(' ');
}

function fmt(v: number): string {
  return v.toFixed(1);
}
