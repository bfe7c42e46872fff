/** Colours the report's charts, diagram and table share, so a step reads as the same colour everywhere. */

const STEP_COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2'];
const TASK_COLORS = ['#0b6e4f', '#c2410c', '#6d28d9', '#0369a1', '#a16207', '#be123c'];

export const NEUTRAL = { context: '#b8bec6', baseline: '#6b7280', bestZoo: '#d97706' } as const;

/** The colour of the step numbered `stepNumber` (1-based, as the report numbers steps). */
export function stepColor(stepNumber: number): string {
  return STEP_COLORS[(stepNumber - 1) % STEP_COLORS.length];
}

export function taskColor(taskIndex: number): string {
  return TASK_COLORS[taskIndex % TASK_COLORS.length];
}
