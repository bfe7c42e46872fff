import { median } from '../study/median.js';
import { comparePositions } from '../study/study-laws.js';
import type { DataRelation, StudyRow } from '../study/study-row.js';
import type { ChartPanel, ChartSeries } from './line-chart.js';
import { renderLineChartSvg } from './line-chart.js';

/*
 * The median λ curve of each data relation, aligned and naive, one panel per position: what a typical cell's
 * loss does between the base (λ = 0) and the target (λ = 1), which the summary numbers compress to three.
 */

export const MEDIAN_CURVES_ID = 'median-curves';

const RELATION_COLORS: Record<DataRelation, string> = {
  same: '#0b6e4f',
  split: '#6d28d9',
  different: '#c2410c',
};
const RELATION_ORDER: readonly DataRelation[] = ['same', 'split', 'different'];

/** The SVG, or undefined when no row has a curve to draw. */
export function renderMedianCurvesSvg(rows: readonly StudyRow[]): string | undefined {
  const curved = rows.filter((r) => r.lambdas.length >= 2 && r.lambdas.length === r.losses.length);
  const grid = commonestGrid(curved);
  if (grid === undefined) return undefined;
  const positions = [...new Set(curved.map((r) => r.position))].sort(comparePositions);
  const panels: ChartPanel[] = positions.map((position) => {
    const series: ChartSeries[] = [];
    for (const relation of RELATION_ORDER) {
      for (const aligned of [true, false]) {
        const group = curved.filter(
          (r) => r.position === position && r.relation === relation && r.aligned === aligned,
        );
        if (group.length === 0) continue;
        const curves = group.map((r) => grid.map((l) => interpolate(r.lambdas, r.losses, l)));
        series.push({
          label: `${relation}, ${aligned ? 'aligned' : 'naive'} (${group.length})`,
          color: RELATION_COLORS[relation],
          dashed: !aligned,
          className: `median-curve ${aligned ? 'aligned' : 'naive'}`,
          points: grid.map((x, k) => ({ x, y: median(curves.map((c) => c[k])) ?? Number.NaN })),
        });
      }
    }
    return {
      title: `position: ${position}`,
      xLabel: 'λ (0 = base, 1 = target)',
      yLabel: 'median loss',
      xDomain: [0, 1],
      xTicks: [0, 0.2, 0.4, 0.6, 0.8, 1],
      series,
    };
  });
  return renderLineChartSvg({
    id: MEDIAN_CURVES_ID,
    className: 'median-curves',
    description: `Median loss along λ per position, data relation and alignment, over ${curved.length} cells`,
    panels,
    panelWidth: 370,
    panelHeight: 260,
  });
}

/** The λ grid most cells share; cells on another grid are interpolated onto it. */
function commonestGrid(rows: readonly StudyRow[]): readonly number[] | undefined {
  const counts = new Map<string, { grid: readonly number[]; count: number }>();
  for (const r of rows) {
    const key = r.lambdas.join(',');
    const entry = counts.get(key) ?? { grid: r.lambdas, count: 0 };
    entry.count++;
    counts.set(key, entry);
  }
  let best: { grid: readonly number[]; count: number } | undefined;
  for (const entry of counts.values()) if (best === undefined || entry.count > best.count) best = entry;
  return best?.grid;
}

/** Linear interpolation of the curve at λ = `at`, NaN outside it (no curve is extrapolated). */
function interpolate(lambdas: readonly number[], values: readonly number[], at: number): number {
  for (let i = 0; i < lambdas.length; i++) {
    if (lambdas[i] === at) return values[i];
    if (i > 0 && lambdas[i - 1] < at && at < lambdas[i]) {
      const f = (at - lambdas[i - 1]) / (lambdas[i] - lambdas[i - 1]);
      return values[i - 1] + f * (values[i] - values[i - 1]);
    }
  }
  return Number.NaN;
}
