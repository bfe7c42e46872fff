import { escapeMarkup } from './markup-escape.js';

/**
 * A generic hand-written SVG line chart, one or more panels side by side, each with its own axes and legend. Like
 * the LMC plot it needs no plotting library; unlike it, the SVG is meant to sit inline in an HTML page, so it has
 * no xmlns (the page holds no URL at all) and scales with the page through its viewBox.
 */

export interface ChartPoint {
  readonly x: number;
  readonly y: number;
}

export interface ChartSeries {
  readonly label: string;
  readonly color: string;
  /** Sorted by x; a non-finite y breaks the line rather than drawing it off the chart. */
  readonly points: readonly ChartPoint[];
  readonly strokeWidth?: number;
  readonly dashed?: boolean;
  /** Dots on the data points (default true). */
  readonly markers?: boolean;
  /** Context lines (say, every other candidate) share one legend entry: give it to one, hide the rest. */
  readonly hideInLegend?: boolean;
  /** Drawn (clipped to the plot) but left out of the y range, so a far-off context line does not flatten the rest. */
  readonly outsideRange?: boolean;
  readonly className?: string;
}

/** A reference line across the plot: vertical at x = `at`, or horizontal at y = `at`. */
export interface ChartGuide {
  readonly at: number;
  readonly label: string;
  readonly color: string;
  readonly dashed?: boolean;
}

/** A point drawn large and ringed, such as the λ a step merged at. */
export interface ChartHighlight extends ChartPoint {
  readonly label: string;
  readonly color: string;
}

export interface ChartPanel {
  readonly title?: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly ChartSeries[];
  /** Default: the data's range (and the guides'). */
  readonly xDomain?: readonly [number, number];
  /** Default: evenly spaced round values over the domain. */
  readonly xTicks?: readonly number[];
  readonly xTickLabel?: (x: number) => string;
  readonly verticals?: readonly ChartGuide[];
  readonly horizontals?: readonly ChartGuide[];
  readonly highlights?: readonly ChartHighlight[];
  readonly className?: string;
}

export interface LineChartOptions {
  /** Unique in the page: it also names the panels' clip paths. */
  readonly id: string;
  readonly className?: string;
  /** Read out by screen readers and shown as a tooltip. */
  readonly description: string;
  readonly panels: readonly ChartPanel[];
  /** Size of one panel's axes area, legend excluded. */
  readonly panelWidth?: number;
  readonly panelHeight?: number;
}

const MARGIN = { left: 62, right: 16, top: 30, bottom: 44 };
const LEGEND_ROW = 17;
/** Rough width of a character at the legend's 11px sans-serif, to wrap the legend without measuring text. */
const CHAR_WIDTH = 7.2;

export function renderLineChartSvg(options: LineChartOptions): string {
  const panelWidth = options.panelWidth ?? 360;
  const panelHeight = options.panelHeight ?? 260;
  const legends = options.panels.map((p) => layoutLegend(legendEntries(p), panelWidth - MARGIN.left));
  const legendHeight = Math.max(0, ...legends.map((l) => l.rows)) * LEGEND_ROW + 6;
  const width = panelWidth * options.panels.length;
  const height = panelHeight + legendHeight;
  const attributes = ` id="${escapeMarkup(options.id)}" class="${escapeMarkup(['line-chart', options.className ?? ''].join(' ').trim())}"`;
  const parts = [
    `<svg${attributes} width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="${escapeMarkup(`${options.id}-title`)}" font-family="system-ui, sans-serif" font-size="11">`,
    `<title id="${escapeMarkup(`${options.id}-title`)}">${escapeMarkup(options.description)}</title>`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    ...options.panels.map((panel, i) =>
      renderPanel(
        panel,
        { x: i * panelWidth, y: 0, width: panelWidth, height: panelHeight },
        legends[i],
        `${options.id}-clip-${i}`,
      ),
    ),
    '</svg>',
  ];
  return parts.join('\n');
}

interface Box {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

function renderPanel(panel: ChartPanel, box: Box, legend: LegendLayout, clipId: string): string {
  const plot: Box = {
    x: box.x + MARGIN.left,
    y: box.y + MARGIN.top,
    width: box.width - MARGIN.left - MARGIN.right,
    height: box.height - MARGIN.top - MARGIN.bottom,
  };
  const [x0, x1] = panel.xDomain ?? padDomain(xValues(panel), 0);
  const [y0, y1] = padDomain(yValues(panel), 0.06);
  const px = (x: number) => plot.x + ((x - x0) / (x1 - x0)) * plot.width;
  const py = (y: number) => plot.y + (1 - (y - y0) / (y1 - y0)) * plot.height;
  const out: string[] = [
    `<g class="${escapeMarkup(['chart-panel', panel.className ?? ''].join(' ').trim())}">`,
  ];
  if (panel.title !== undefined) {
    out.push(
      `<text x="${fmt(plot.x + plot.width / 2)}" y="${box.y + 18}" text-anchor="middle" font-size="13" font-weight="600">${escapeMarkup(panel.title)}</text>`,
    );
  }
  const plotRect = `x="${fmt(plot.x)}" y="${fmt(plot.y)}" width="${fmt(plot.width)}" height="${fmt(plot.height)}"`;
  out.push(
    `<clipPath id="${escapeMarkup(clipId)}"><rect ${plotRect}/></clipPath>`,
    `<rect ${plotRect} fill="#fcfcfd" stroke="#9aa0a6"/>`,
  );
  const yTicks = niceTicks(y0, y1, 5);
  const yDecimals = decimalsFor(yTicks);
  for (const y of yTicks) {
    out.push(
      `<line x1="${fmt(plot.x)}" x2="${fmt(plot.x + plot.width)}" y1="${fmt(py(y))}" y2="${fmt(py(y))}" stroke="#e6e8eb"/>`,
      `<text x="${fmt(plot.x - 5)}" y="${fmt(py(y) + 3.5)}" text-anchor="end" fill="#444">${minus(y.toFixed(yDecimals))}</text>`,
    );
  }
  const xTicks = panel.xTicks ?? niceTicks(x0, x1, 5);
  const xDecimals = decimalsFor(xTicks);
  for (const x of xTicks) {
    const label = panel.xTickLabel ? panel.xTickLabel(x) : minus(x.toFixed(xDecimals));
    out.push(
      `<line x1="${fmt(px(x))}" x2="${fmt(px(x))}" y1="${fmt(plot.y + plot.height)}" y2="${fmt(plot.y + plot.height + 4)}" stroke="#9aa0a6"/>`,
      `<text x="${fmt(px(x))}" y="${fmt(plot.y + plot.height + 16)}" text-anchor="middle" fill="#444">${escapeMarkup(label)}</text>`,
    );
  }
  const midY = plot.y + plot.height / 2;
  out.push(
    `<text x="${fmt(plot.x + plot.width / 2)}" y="${fmt(plot.y + plot.height + 34)}" text-anchor="middle">${escapeMarkup(panel.xLabel)}</text>`,
    `<text x="${fmt(box.x + 14)}" y="${fmt(midY)}" text-anchor="middle" transform="rotate(-90 ${fmt(box.x + 14)} ${fmt(midY)})">${escapeMarkup(panel.yLabel)}</text>`,
  );
  for (const guide of panel.horizontals ?? []) {
    if (!Number.isFinite(guide.at)) continue;
    out.push(
      `<line class="guide" x1="${fmt(plot.x)}" x2="${fmt(plot.x + plot.width)}" y1="${fmt(py(guide.at))}" y2="${fmt(py(guide.at))}" stroke="${guide.color}" stroke-width="1.5"${dash(guide.dashed)}/>`,
    );
  }
  for (const guide of panel.verticals ?? []) {
    if (!Number.isFinite(guide.at)) continue;
    out.push(
      `<line class="guide" x1="${fmt(px(guide.at))}" x2="${fmt(px(guide.at))}" y1="${fmt(plot.y)}" y2="${fmt(plot.y + plot.height)}" stroke="${guide.color}" stroke-width="1.5"${dash(guide.dashed)}/>`,
    );
  }
  out.push(`<g clip-path="url(#${escapeMarkup(clipId)})">`);
  for (const series of panel.series) {
    const d = pathData(series.points, px, py);
    const cls = series.className === undefined ? '' : ` class="${escapeMarkup(series.className)}"`;
    if (d !== '') {
      out.push(
        `<path${cls} d="${d}" fill="none" stroke="${series.color}" stroke-width="${series.strokeWidth ?? 2}" stroke-linejoin="round"${dash(series.dashed)}/>`,
      );
    }
    if (series.markers ?? true) {
      for (const p of series.points) {
        if (Number.isFinite(p.y))
          out.push(`<circle cx="${fmt(px(p.x))}" cy="${fmt(py(p.y))}" r="2.6" fill="${series.color}"/>`);
      }
    }
  }
  out.push('</g>');
  for (const h of panel.highlights ?? []) {
    if (!Number.isFinite(h.y)) continue;
    out.push(
      `<circle class="highlight" cx="${fmt(px(h.x))}" cy="${fmt(py(h.y))}" r="5.5" fill="${h.color}" stroke="white" stroke-width="2"><title>${escapeMarkup(h.label)}</title></circle>`,
    );
  }
  out.push(renderLegend(legend, box.x + MARGIN.left, box.y + box.height + 4), '</g>');
  return out.join('\n');
}

/** Lines joining consecutive finite points; a non-finite value starts a new piece. */
function pathData(
  points: readonly ChartPoint[],
  px: (x: number) => number,
  py: (y: number) => number,
): string {
  const commands: string[] = [];
  let pen = false;
  for (const p of points) {
    if (!Number.isFinite(p.x) || !Number.isFinite(p.y)) {
      pen = false;
      continue;
    }
    commands.push(`${pen ? 'L' : 'M'}${fmt(px(p.x))},${fmt(py(p.y))}`);
    pen = true;
  }
  return commands.join(' ');
}

interface LegendEntry {
  readonly label: string;
  readonly color: string;
  readonly kind: 'line' | 'dashed' | 'dot';
}

interface LegendLayout {
  readonly entries: readonly (LegendEntry & { readonly dx: number; readonly row: number })[];
  readonly rows: number;
}

function legendEntries(panel: ChartPanel): LegendEntry[] {
  return [
    ...panel.series
      .filter((s) => !s.hideInLegend)
      .map((s): LegendEntry => ({ label: s.label, color: s.color, kind: s.dashed ? 'dashed' : 'line' })),
    ...[...(panel.verticals ?? []), ...(panel.horizontals ?? [])].map(
      (g): LegendEntry => ({ label: g.label, color: g.color, kind: g.dashed ? 'dashed' : 'line' }),
    ),
    ...(panel.highlights ?? []).map((h): LegendEntry => ({ label: h.label, color: h.color, kind: 'dot' })),
  ];
}

function layoutLegend(entries: readonly LegendEntry[], width: number): LegendLayout {
  const placed: (LegendEntry & { dx: number; row: number })[] = [];
  let dx = 0;
  let row = 0;
  for (const entry of entries) {
    const w = 30 + entry.label.length * CHAR_WIDTH;
    if (dx > 0 && dx + w > width) {
      dx = 0;
      row++;
    }
    placed.push({ ...entry, dx, row });
    dx += w;
  }
  return { entries: placed, rows: entries.length === 0 ? 0 : row + 1 };
}

function renderLegend(legend: LegendLayout, x: number, y: number): string {
  return legend.entries
    .map((e) => {
      const lx = x + e.dx;
      const ly = y + e.row * LEGEND_ROW + 8;
      const swatch =
        e.kind === 'dot'
          ? `<circle cx="${fmt(lx + 9)}" cy="${fmt(ly)}" r="4.5" fill="${e.color}"/>`
          : `<line x1="${fmt(lx)}" x2="${fmt(lx + 20)}" y1="${fmt(ly)}" y2="${fmt(ly)}" stroke="${e.color}" stroke-width="2"${dash(e.kind === 'dashed')}/>`;
      return `${swatch}<text x="${fmt(lx + 25)}" y="${fmt(ly + 3.5)}">${escapeMarkup(e.label)}</text>`;
    })
    .join('\n');
}

function xValues(panel: ChartPanel): number[] {
  return [
    ...panel.series.flatMap((s) => s.points.map((p) => p.x)),
    ...(panel.verticals ?? []).map((g) => g.at),
    ...(panel.highlights ?? []).map((h) => h.x),
  ];
}

function yValues(panel: ChartPanel): number[] {
  return [
    ...panel.series.filter((s) => !s.outsideRange).flatMap((s) => s.points.map((p) => p.y)),
    ...(panel.horizontals ?? []).map((g) => g.at),
    ...(panel.highlights ?? []).map((h) => h.y),
  ];
}

/** The finite values' range, widened by `pad` of its span; a single value or none still gets a usable range. */
function padDomain(values: readonly number[], pad: number): [number, number] {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return [0, 1];
  let lo = Math.min(...finite);
  let hi = Math.max(...finite);
  if (hi - lo < 1e-12) {
    const half = Math.max(Math.abs(lo) * 0.05, 0.5);
    return [lo - half, hi + half];
  }
  const span = hi - lo;
  lo -= span * pad;
  hi += span * pad;
  return [lo, hi];
}

/** Round tick values (1, 2 or 5 times a power of ten apart) inside [lo, hi]. */
export function niceTicks(lo: number, hi: number, count: number): number[] {
  const raw = (hi - lo) / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const ticks: number[] = [];
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) {
    // Rounded so that 3 × 0.2 prints as 0.6, and + 0 so that no tick is −0.
    ticks.push(Number((k * step).toPrecision(12)) + 0);
  }
  return ticks;
}

function decimalsFor(ticks: readonly number[]): number {
  if (ticks.length < 2) return 2;
  const step = Math.abs(ticks[1] - ticks[0]);
  return Math.min(6, Math.max(0, -Math.floor(Math.log10(step) + 1e-9)));
}

function dash(dashed: boolean | undefined): string {
  return dashed ? ' stroke-dasharray="5 4"' : '';
}

function minus(text: string): string {
  return text === '-0' || /^-0\.0*$/.test(text) ? text.slice(1) : text.replace('-', '−');
}

function fmt(v: number): string {
  return v.toFixed(1);
}
