import type { LineageStep, ScoredCandidate } from '../assembly/lineage.js';
import { sameCandidate } from './candidate-identity.js';
import type { ChartPanel, ChartSeries } from './line-chart.js';
import { renderLineChartSvg } from './line-chart.js';
import { formatLambda, formatNumber } from './number-format.js';
import { NEUTRAL, stepColor, taskColor } from './report-palette.js';

export const LAMBDA_CURVE_CLASS = 'lambda-curve';
export const REJECTED_CURVES_CLASS = 'rejected-curves';

const LAMBDA_TICKS = [0, 0.2, 0.4, 0.6, 0.8, 1];

/**
 * The accepted candidate's curve along the λ grid in step colour, the step's other scored candidates in grey for
 * context, λ* dashed and the chosen λ solid; then each task's loss and accuracy along the same grid, where the
 * lineage recorded them, since a gain on the objective can hide a loss on one task.
 */
export function renderLambdaCurveSvg(step: LineageStep, stepNumber: number): string {
  const accepted = step.accepted;
  if (accepted === null)
    throw new RangeError(`step ${stepNumber} accepted nothing: it has no λ curve to draw`);
  const color = stepColor(stepNumber);
  const others = step.scored.filter((s) => !sameCandidate(s.candidate, accepted.candidate));
  const objectivePanel: ChartPanel = {
    title: 'objective along λ',
    xLabel: 'λ (0 = current model, 1 = zoo layers)',
    yLabel: 'objective (lower is better)',
    xDomain: [0, 1],
    xTicks: LAMBDA_TICKS,
    series: [
      ...contextSeries(others),
      {
        label: accepted.candidate.model,
        color,
        className: 'accepted-curve',
        points: accepted.curve.map((p) => ({ x: p.lambda, y: p.objective })),
      },
    ],
    verticals: [
      { at: accepted.threshold, label: `λ* ${formatLambda(accepted.threshold)}`, color, dashed: true },
      { at: accepted.lambda, label: `chosen λ ${formatLambda(accepted.lambda)}`, color },
    ],
    horizontals: [
      {
        at: step.objectiveBefore,
        label: `before ${formatNumber(step.objectiveBefore)}`,
        color: NEUTRAL.baseline,
        dashed: true,
      },
    ],
    highlights: [
      {
        x: accepted.lambda,
        y: accepted.objectiveAtLambda,
        color,
        label: `merged: ${formatNumber(accepted.objectiveAtLambda)}`,
      },
    ],
  };
  const panels = [objectivePanel, ...taskPanels(accepted, color)];
  return renderLineChartSvg({
    id: `lambda-curve-step-${stepNumber}`,
    className: LAMBDA_CURVE_CLASS,
    description: `Step ${stepNumber}: objective and per-task metrics along λ for ${accepted.candidate.model}`,
    panelWidth: 360,
    panelHeight: 250,
    panels,
  });
}

/**
 * For a step that accepted nothing: every scored candidate's objective along λ against the objective before the
 * step, which shows why none qualified.
 */
export function renderRejectedCurvesSvg(step: LineageStep, stepNumber: number): string {
  const series: ChartSeries[] = step.scored.map((s, i) => ({
    label: s.candidate.model,
    color: taskColor(i),
    strokeWidth: 1.5,
    points: s.curve.map((p) => ({ x: p.lambda, y: p.objective })),
  }));
  return renderLineChartSvg({
    id: `rejected-curves-step-${stepNumber}`,
    className: REJECTED_CURVES_CLASS,
    description: `Step ${stepNumber}: the scored candidates' objective along λ; none was accepted`,
    panelWidth: 520,
    panelHeight: 250,
    panels: [
      {
        title: 'candidates scored (none accepted)',
        xLabel: 'λ (0 = current model, 1 = zoo layers)',
        yLabel: 'objective (lower is better)',
        xDomain: [0, 1],
        xTicks: LAMBDA_TICKS,
        series,
        horizontals: [
          {
            at: step.objectiveBefore,
            label: `before ${formatNumber(step.objectiveBefore)}`,
            color: NEUTRAL.baseline,
            dashed: true,
          },
        ],
      },
    ],
  });
}

function contextSeries(others: readonly ScoredCandidate[]): ChartSeries[] {
  return others.map((s, i) => ({
    label: `other candidates (${others.length})`,
    color: NEUTRAL.context,
    strokeWidth: 1.2,
    markers: false,
    hideInLegend: i > 0,
    outsideRange: true,
    className: 'context-curve',
    points: s.curve.map((p) => ({ x: p.lambda, y: p.objective })),
  }));
}

function taskPanels(accepted: ScoredCandidate, color: string): ChartPanel[] {
  const names = [...new Set(accepted.curve.flatMap((p) => p.tasks.map((t) => t.name)))];
  if (names.length === 0) return [];
  const perTask = (key: 'loss' | 'accuracy'): ChartSeries[] =>
    names.map((name, i) => ({
      label: name,
      color: taskColor(i),
      points: accepted.curve.map((p) => ({
        x: p.lambda,
        y: p.tasks.find((t) => t.name === name)?.[key] ?? Number.NaN,
      })),
    }));
  const chosen = { at: accepted.lambda, label: `chosen λ ${formatLambda(accepted.lambda)}`, color };
  return [
    {
      title: 'loss per task',
      xLabel: 'λ',
      yLabel: 'loss, cross-entropy (lower is better)',
      xDomain: [0, 1],
      xTicks: LAMBDA_TICKS,
      series: perTask('loss'),
      verticals: [chosen],
    },
    {
      title: 'accuracy per task',
      xLabel: 'λ',
      yLabel: 'accuracy (higher is better)',
      xDomain: [0, 1],
      xTicks: LAMBDA_TICKS,
      series: perTask('accuracy'),
      verticals: [chosen],
    },
  ];
}
