import type { AssemblyPlan } from '../assembly/assembly-plan.js';
import { loadPlanFile } from '../assembly/plan-file.js';
import { type PlanValidation, validatePlan } from '../assembly/validate-plan.js';
import { type BackendInfo, initBackend, isBackendPreference } from '../compute/backend.js';
import { UsageError } from '../errors.js';

/** What a caller may put in place of the plan file's own values: a command's flags, a workflow's input. */
export interface RunOverrides {
  readonly output?: string;
  /** A backend preference; the plan's own when absent (its `auto` leaves the choice to MAL_BACKEND, then detection). */
  readonly backend?: string;
  /** Starts from this model instead of the plan's base (the nightly integration continues a published model). */
  readonly base?: string;
  /** Takes candidates from this zoo folder instead of the plan's (its include/exclude lists still apply). */
  readonly zoo?: string;
}

export interface LoadedAssemblyRun {
  readonly plan: AssemblyPlan;
  readonly validation: PlanValidation;
  readonly backend: BackendInfo;
}

/**
 * Reads a plan file, applies the overrides, validates the plan (models readable, layers present, data there) and
 * starts the compute backend: the same for `mal assemble` and a Temporal worker, so one plan gives one result.
 */
export async function loadAssemblyRun(
  planFile: string,
  overrides: RunOverrides = {},
): Promise<LoadedAssemblyRun> {
  const fromFile = await loadPlanFile(planFile);
  const backend = overrides.backend ?? (fromFile.backend === 'auto' ? undefined : fromFile.backend);
  if (backend !== undefined && !isBackendPreference(backend))
    throw new UsageError(`unknown backend '${backend}'`);
  const plan: AssemblyPlan = {
    ...fromFile,
    output: overrides.output ?? fromFile.output,
    base: overrides.base ?? fromFile.base,
    zoo: overrides.zoo === undefined ? fromFile.zoo : { ...fromFile.zoo, path: overrides.zoo },
  };
  const validation = await validatePlan(plan);
  return { plan, validation, backend: await initBackend(backend) };
}
