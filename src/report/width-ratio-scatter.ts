import { median } from '../study/median.js';
import type { StudyRow } from '../study/study-row.js';
import { niceTicks } from './line-chart.js';
import { escapeMarkup } from './markup-escape.js';
import { formatLambda } from './number-format.js';

/*
 * λ* against the width ratio (target/base) on a log2 axis, the paper's asymmetry plot: the narrower → wider half
 * (ratio < 1) and the wider → narrower half (ratio > 1) are shaded apart, aligned cells are filled dots and naive
 * cells rings, and cells at the same spot are drawn as one marker whose area grows with their number (λ* lies on
 * a grid, so many cells coincide and single dots would hide how many).
 */

export const ALIGNED_COLOR = '#1f77b4';
export const NAIVE_COLOR = '#d62728';

const SIZE = { width: 760, height: 400 };
const MARGIN = { left: 58, right: 18, top: 30, bottom: 78 };

interface Marker {
  readonly x: number;
  readonly y: number;
  readonly aligned: boolean;
  count: number;
}

export function renderWidthRatioScatterSvg(rows: readonly StudyRow[], id: string): string {
  const usable = rows.filter(
    (r) => Number.isFinite(r.widthRatio) && r.widthRatio > 0 && Number.isFinite(r.threshold),
  );
  const markers = new Map<string, Marker>();
  for (const r of usable) {
    const x = Math.log2(r.widthRatio);
    const key = `${r.aligned}|${x.toFixed(6)}|${r.threshold}`;
    const marker = markers.get(key);
    if (marker === undefined) markers.set(key, { x, y: r.threshold, aligned: r.aligned, count: 1 });
    else marker.count++;
  }
  const xs = usable.map((r) => Math.log2(r.widthRatio));
  // A loop, not Math.min(...xs): a large study's rows would overflow the argument list.
  const x0 = xs.reduce((a, b) => Math.min(a, b), -1) - 0.5;
  const x1 = xs.reduce((a, b) => Math.max(a, b), 1) + 0.5;
  const [y0, y1] = [-0.05, 1.05];
  const plot = {
    x: MARGIN.left,
    y: MARGIN.top,
    width: SIZE.width - MARGIN.left - MARGIN.right,
    height: SIZE.height - MARGIN.top - MARGIN.bottom,
  };
  const px = (x: number) => plot.x + ((x - x0) / (x1 - x0)) * plot.width;
  const py = (y: number) => plot.y + (1 - (y - y0) / (y1 - y0)) * plot.height;
  const zero = px(0);
  const bottom = plot.y + plot.height;
  const out = [
    `<svg id="${escapeMarkup(id)}" class="ratio-scatter" width="${SIZE.width}" height="${SIZE.height}" viewBox="0 0 ${SIZE.width} ${SIZE.height}" role="img" aria-labelledby="${escapeMarkup(`${id}-title`)}" font-family="system-ui, sans-serif" font-size="11">`,
    `<title id="${escapeMarkup(`${id}-title`)}">${escapeMarkup(`λ* against log2 of the width ratio (target/base) for ${usable.length} cells${usable.length < rows.length ? `; ${rows.length - usable.length} with no finite ratio or λ* left out` : ''}`)}</title>`,
    `<rect width="${SIZE.width}" height="${SIZE.height}" fill="white"/>`,
    `<rect class="side narrower-into-wider" x="${fmt(plot.x)}" y="${fmt(plot.y)}" width="${fmt(zero - plot.x)}" height="${fmt(plot.height)}" fill="#eaf2fb"/>`,
    `<rect class="side wider-into-narrower" x="${fmt(zero)}" y="${fmt(plot.y)}" width="${fmt(plot.x + plot.width - zero)}" height="${fmt(plot.height)}" fill="#fdf1e7"/>`,
    `<text x="${fmt(plot.x + 6)}" y="${fmt(plot.y - 8)}" font-weight="600" fill="#1d4f86">← narrower → wider (ratio &lt; 1)</text>`,
    `<text x="${fmt(plot.x + plot.width - 6)}" y="${fmt(plot.y - 8)}" text-anchor="end" font-weight="600" fill="#9a4a0c">wider → narrower (ratio &gt; 1) →</text>`,
  ];
  for (const y of [0, 0.2, 0.4, 0.6, 0.8, 1]) {
    out.push(
      `<line x1="${fmt(plot.x)}" x2="${fmt(plot.x + plot.width)}" y1="${fmt(py(y))}" y2="${fmt(py(y))}" stroke="#dfe3e8"/>`,
      `<text x="${fmt(plot.x - 6)}" y="${fmt(py(y) + 3.5)}" text-anchor="end" fill="#444">${y.toFixed(1)}</text>`,
    );
  }
  for (const x of niceTicks(x0, x1, 8).filter((t) => Number.isInteger(t))) {
    out.push(
      `<line x1="${fmt(px(x))}" x2="${fmt(px(x))}" y1="${fmt(bottom)}" y2="${fmt(bottom + 4)}" stroke="#9aa0a6"/>`,
      `<text x="${fmt(px(x))}" y="${fmt(bottom + 16)}" text-anchor="middle" fill="#444">${ratioLabel(x)}</text>`,
    );
  }
  out.push(
    `<rect x="${fmt(plot.x)}" y="${fmt(plot.y)}" width="${fmt(plot.width)}" height="${fmt(plot.height)}" fill="none" stroke="#9aa0a6"/>`,
    `<line class="equal-width" x1="${fmt(zero)}" x2="${fmt(zero)}" y1="${fmt(plot.y)}" y2="${fmt(bottom)}" stroke="#6b7280" stroke-dasharray="4 3"/>`,
    `<text x="${fmt(plot.x + plot.width / 2)}" y="${fmt(bottom + 34)}" text-anchor="middle">width ratio target/base (log2 scale)</text>`,
    `<text x="14" y="${fmt(plot.y + plot.height / 2)}" text-anchor="middle" transform="rotate(-90 14 ${fmt(plot.y + plot.height / 2)})">λ* (merge-factor threshold)</text>`,
  );
  // Medians of each half, drawn under the markers so the markers stay readable.
  for (const aligned of [true, false]) {
    for (const [from, to, pick] of [
      [x0, 0, (r: StudyRow) => r.widthRatio < 1],
      [0, x1, (r: StudyRow) => r.widthRatio > 1],
    ] as const) {
      const side = usable.filter((r) => r.aligned === aligned && pick(r));
      const m = median(side.map((r) => r.threshold));
      if (m === undefined) continue;
      out.push(
        `<line class="side-median" x1="${fmt(px(from) + 4)}" x2="${fmt(px(to) - 4)}" y1="${fmt(py(m))}" y2="${fmt(py(m))}" stroke="${aligned ? ALIGNED_COLOR : NAIVE_COLOR}" stroke-width="2"${aligned ? '' : ' stroke-dasharray="6 4"'} opacity="0.7"><title>${escapeMarkup(`median λ* of ${side.length} ${aligned ? 'aligned' : 'naive'} cells: ${formatLambda(m)}`)}</title></line>`,
      );
    }
  }
  // Aligned a few pixels left of the true x and naive a few right, so both show where they coincide.
  for (const m of [...markers.values()].sort((a, b) => b.count - a.count)) {
    const r = Math.min(12, 2.8 * Math.sqrt(m.count));
    const cx = px(m.x) + (m.aligned ? -4 : 4);
    const style = m.aligned
      ? `fill="${ALIGNED_COLOR}" fill-opacity="0.75" stroke="white" stroke-width="0.8"`
      : `fill="white" fill-opacity="0.3" stroke="${NAIVE_COLOR}" stroke-width="1.8"`;
    out.push(
      `<circle class="scatter-point ${m.aligned ? 'aligned' : 'naive'}" cx="${fmt(cx)}" cy="${fmt(py(m.y))}" r="${fmt(r)}" ${style}><title>${escapeMarkup(`${m.aligned ? 'aligned' : 'naive'}, ratio ${ratioLabel(m.x, 3)}, λ* ${formatLambda(m.y)}: ${m.count} cell${m.count === 1 ? '' : 's'}`)}</title></circle>`,
    );
  }
  const ly = SIZE.height - 14;
  out.push(
    `<circle cx="${plot.x + 6}" cy="${ly - 4}" r="4.5" fill="${ALIGNED_COLOR}" fill-opacity="0.75"/><text x="${plot.x + 16}" y="${ly}">aligned</text>`,
    `<circle cx="${plot.x + 80}" cy="${ly - 4}" r="4.5" fill="white" stroke="${NAIVE_COLOR}" stroke-width="1.8"/><text x="${plot.x + 90}" y="${ly}">naive</text>`,
    `<line x1="${plot.x + 140}" x2="${plot.x + 164}" y1="${ly - 4}" y2="${ly - 4}" stroke="${ALIGNED_COLOR}" stroke-width="2"/><line x1="${plot.x + 168}" x2="${plot.x + 192}" y1="${ly - 4}" y2="${ly - 4}" stroke="${NAIVE_COLOR}" stroke-width="2" stroke-dasharray="6 4"/><text x="${plot.x + 198}" y="${ly}">median λ* of each side</text>`,
    `<text x="${plot.x + 350}" y="${ly}" fill="#6b7280">marker area ∝ cells at that point</text>`,
    '</svg>',
  );
  return out.join('\n');
}

/** 2^k as a ratio: 4, 1, 1/2; off the integers, the ratio itself. */
function ratioLabel(log2: number, digits = 2): string {
  if (Number.isInteger(log2)) return log2 >= 0 ? String(2 ** log2) : `1/${2 ** -log2}`;
  return Number((2 ** log2).toPrecision(digits)).toString();
}

function fmt(v: number): string {
  return v.toFixed(1);
}
