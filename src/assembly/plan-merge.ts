import type { PathMerge } from '../eval/interpolation-path.js';
import type { RegMeanSettings } from '../eval/regmean.js';
import type { RepairSettings } from '../eval/repair.js';
import type { UnmatchedPolicy } from '../merge/mal-interpolation.js';
import type { MergeMethodChoice } from '../merge/merge-method-registry.js';
import type { FloatTensor } from '../tensor/tensor.js';

/**
 * The merge method a plan's `merge` section asks for: its `method` when given, otherwise MAL with its `unmatched`
 * policy (what plans meant before methods were selectable; the schema refuses both at once).
 */
export function planMergeChoice(merge: {
  readonly unmatched: UnmatchedPolicy;
  readonly method?: MergeMethodChoice;
}): MergeMethodChoice {
  return merge.method ?? { method: 'mal', unmatched: merge.unmatched };
}

/**
 * The path merge of a plan: its method, the run's seed, the ancestor's tensors where the method reads them, and
 * REPAIR's and RegMean's data where the plan asks for them.
 */
export function planPathMerge(
  merge: { readonly unmatched: UnmatchedPolicy; readonly method?: MergeMethodChoice },
  seed: number,
  ancestor?: ReadonlyMap<string, FloatTensor>,
  repair?: RepairSettings,
  regmean?: RegMeanSettings,
): PathMerge {
  return {
    choice: planMergeChoice(merge),
    seed,
    ancestor,
    ...(repair === undefined ? {} : { repair }),
    ...(regmean === undefined ? {} : { regmean }),
  };
}
