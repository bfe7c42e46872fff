import { IncompatibleModelsError } from '../errors.js';
import type { AlignmentPlan } from './alignment-problem.js';
import type { SpaceMaps } from './space-map.js';

/**
 * Maps read from a file must have been made for these two models: every space the plan touches has a map whose
 * target space and widths agree with the models. A mismatch names the space and both widths.
 */
export function checkMapsFitPlan(plan: AlignmentPlan, maps: SpaceMaps, mapsSource: string): void {
  for (const space of plan.spaces) {
    const m = maps.get(space.baseSpace);
    if (m === undefined) {
      throw new IncompatibleModelsError(`${mapsSource} has no map for base space '${space.baseSpace}'`);
    }
    if (
      m.targetSpace !== space.targetSpace ||
      m.baseWidth !== space.baseWidth ||
      m.targetWidth !== space.targetWidth
    ) {
      throw new IncompatibleModelsError(
        `${mapsSource}: space '${space.baseSpace}' maps '${m.targetSpace}' ${m.targetWidth} → ${m.baseWidth} units, but these models have '${space.targetSpace}' ${space.targetWidth} → ${space.baseWidth}; were the maps made for other models?`,
      );
    }
    if (m.parent?.space !== space.parent?.space || m.parent?.baseWidth !== space.parent?.baseWidth) {
      throw new IncompatibleModelsError(
        `${mapsSource}: space '${space.baseSpace}' is ${space.parent === undefined ? 'not nested' : `nested in '${space.parent.space}' (${space.parent.baseWidth} units)`} in these models but ${m.parent === undefined ? 'not nested' : `nested in '${m.parent.space}' (${m.parent.baseWidth} units)`} in the maps; were the maps made for other models?`,
      );
    }
    if (space.kind === 'fixed' && m.map.some((t, i) => t !== i % m.baseWidth)) {
      throw new IncompatibleModelsError(
        `${mapsSource}: fixed space '${space.baseSpace}' must map every unit to itself`,
      );
    }
  }
}
