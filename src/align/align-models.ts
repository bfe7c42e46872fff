import type { LoadedModel } from '../model/load-model.js';
import { readFiniteFloatTensors } from '../model/load-model.js';
import { type AlignmentProblem, planAlignment, withTensors } from './alignment-problem.js';
import { type WeightMatchingOptions, type WeightMatchingResult, weightMatching } from './weight-matching.js';

export interface AlignModelsResult {
  readonly problem: AlignmentProblem;
  readonly result: WeightMatchingResult;
  /** Base tensors left out because the target has no tensor of that name (they stay as they are in a merge). */
  readonly unpaired: readonly string[];
}

/** Reads the paired tensors of two models and aligns the target to the base by weight matching. */
export async function alignModels(
  base: LoadedModel,
  target: LoadedModel,
  options: Partial<WeightMatchingOptions> = {},
): Promise<AlignModelsResult> {
  const plan = planAlignment(base, target);
  const paired = new Set(plan.pairs.map((p) => p.baseName));
  const unpaired = base.spec.tensors.filter((t) => t.merge && !paired.has(t.name)).map((t) => t.name);
  const problem = withTensors(
    plan,
    await readFiniteFloatTensors(base, paired),
    await readFiniteFloatTensors(
      target,
      plan.pairs.map((p) => p.targetName),
    ),
  );
  return { problem, result: await weightMatching(problem, options), unpaired };
}
