import {
  fieldLines,
  parseSourceDocument,
  readSourceDocument,
  readSourceText,
} from '../schema/source-document.js';
import type { AlignmentSettings, AssemblyPlan, MergeSettings } from './assembly-plan.js';
import { PlanError } from './plan-error.js';
import { rememberPlanFieldLines } from './plan-field-lines.js';
import { alignmentSettingsSchema, mergeSettingsSchema, planFileSchema } from './plan-schema.js';

/* The plan file format, its defaults and checks: plan-schema.ts, documented in docs/plan-format.md. */

export const DEFAULT_ALIGNMENT: AlignmentSettings = alignmentSettingsSchema.parse({});
export const DEFAULT_MERGE: MergeSettings = mergeSettingsSchema.parse({});

/** Reads a plan file; `.json` files must be strict JSON, anything else is read as YAML. */
export async function loadPlanFile(path: string): Promise<AssemblyPlan> {
  const text = await readSourceText(path, 'plan file', (message) => new PlanError(message));
  return parsePlanFile(text, path);
}

/**
 * Parses and checks a plan file's text; `file` names it in messages and its folder anchors relative paths.
 * Errors read `file:line: field.path: what is wrong`. The line of every field is kept with the plan for
 * validatePlan's messages (see plan-field-lines.ts).
 */
export function parsePlanFile(text: string, file: string): AssemblyPlan {
  const error = (message: string) => new PlanError(message);
  const source = readSourceDocument(text, file, error);
  const plan: AssemblyPlan = parseSourceDocument(planFileSchema({ file }), source, error);
  rememberPlanFieldLines(plan, fieldLines(source));
  return plan;
}
