import type { Lineage } from '../assembly/lineage.js';
import { comparableBestZoo } from './comparable-best-zoo.js';
import type { ChartGuide, ChartHighlight } from './line-chart.js';
import { renderLineChartSvg } from './line-chart.js';
import { formatNumber } from './number-format.js';
import { NEUTRAL, stepColor } from './report-palette.js';

export const OBJECTIVE_CHART_ID = 'objective-chart';

/**
 * The objective after each step (step 0 is the original base), with the base's and the best single zoo model's
 * objectives as reference lines: whether assembly beat simply picking the best model is the question a reader asks.
 */
export function renderObjectiveChartSvg(lineage: Lineage): string {
  const points = [
    { x: 0, y: lineage.initial.objective },
    ...lineage.steps.map((step, i) => ({ x: i + 1, y: step.objectiveAfter })),
  ];
  const highlights = lineage.steps.flatMap((step, i): ChartHighlight[] =>
    step.accepted === null
      ? []
      : [{ x: i + 1, y: step.objectiveAfter, color: stepColor(i + 1), label: `step ${i + 1} accepted` }],
  );
  const horizontals: ChartGuide[] = [
    {
      at: lineage.initial.objective,
      label: `base ${formatNumber(lineage.initial.objective)}`,
      color: NEUTRAL.baseline,
      dashed: true,
    },
  ];
  const best = comparableBestZoo(lineage);
  if (best !== undefined) {
    horizontals.push({
      at: best.evaluated.objective,
      label: `${best.label} ${formatNumber(best.evaluated.objective)}`,
      color: NEUTRAL.bestZoo,
      dashed: true,
    });
  }
  const last = lineage.steps.length;
  return renderLineChartSvg({
    id: OBJECTIVE_CHART_ID,
    className: 'objective-chart',
    description: 'Objective after each assembly step (lower is better)',
    panelWidth: 1000,
    panelHeight: 300,
    panels: [
      {
        xLabel: 'step (0 = original base)',
        yLabel: 'objective (lower is better)',
        xDomain: [-0.25, last + 0.25],
        xTicks: points.map((p) => p.x),
        xTickLabel: (x) => (x === 0 ? 'base' : String(x)),
        series: [{ label: 'objective after the step', color: '#374151', points }],
        horizontals,
        highlights,
      },
    ],
  });
}
