import type { AssemblyPlan } from './assembly-plan.js';
import { PlanError } from './plan-error.js';

/** Field path (`objective.tasks[1].data`) → 1-based line of the plan file where the field is written. */
export type PlanFieldLines = ReadonlyMap<string, number>;

/*
 * The plan type carries values, not positions; the lines of a parsed plan are kept beside it so errors found
 * later (a missing data set, an unknown layer) can still point at the line that asked for it. A WeakMap keeps
 * the plan type unchanged and lets the lines go with the plan. The lines are also filed under the plan's
 * objective, an object each parse makes anew, so a shallow copy that overrides a field from the command line
 * (`{...plan, output}`) still finds them.
 */
const linesOfPlan = new WeakMap<object, PlanFieldLines>();

export function rememberPlanFieldLines(plan: AssemblyPlan, lines: PlanFieldLines): void {
  linesOfPlan.set(plan, lines);
  linesOfPlan.set(plan.objective, lines);
}

/** The lines of a plan from parsePlanFile (or a shallow copy of one); undefined for a plan built in code. */
export function planFieldLines(plan: AssemblyPlan): PlanFieldLines | undefined {
  return linesOfPlan.get(plan) ?? linesOfPlan.get(plan.objective);
}

/**
 * The line of a field, or of the nearest enclosing field that was written (a defaulted `zoo.path` falls back to
 * the line of `zoo: some/folder`).
 */
export function lineOfPlanField(lines: PlanFieldLines | undefined, field: string): number | undefined {
  if (lines === undefined) return undefined;
  let path = field;
  for (;;) {
    const line = lines.get(path);
    if (line !== undefined) return line;
    const cut = Math.max(path.lastIndexOf('.'), path.lastIndexOf('['));
    if (cut <= 0) return undefined;
    path = path.slice(0, cut);
  }
}

/** A PlanError reading `file:line: field: detail` (without `:line` when the plan has no line for it). */
export function planFieldError(plan: AssemblyPlan, field: string, detail: string): PlanError {
  const line = lineOfPlanField(planFieldLines(plan), field);
  return new PlanError(`${plan.file}${line === undefined ? '' : `:${line}`}: ${field}: ${detail}`);
}
