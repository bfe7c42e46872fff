import { forwardConfigOf } from '../eval/model-evaluation.js';
import type { LoadedModel } from '../model/load-model.js';
import { readFiniteFloatTensors } from '../model/load-model.js';
import { type ActivationProbe, activationMatching } from './activation-matching.js';
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

/**
 * Aligns the target to the base by activation matching on the probe's examples: both whole models are read (the
 * forward passes need every layer), and the problem holds the paired tensors as weight matching's does.
 */
export async function alignModelsByActivations(
  base: LoadedModel,
  target: LoadedModel,
  probe: ActivationProbe,
): Promise<AlignModelsResult> {
  const plan = planAlignment(base, target);
  const paired = new Set(plan.pairs.map((p) => p.baseName));
  const unpaired = base.spec.tensors.filter((t) => t.merge && !paired.has(t.name)).map((t) => t.name);
  const forwardTensors = (model: LoadedModel) =>
    readFiniteFloatTensors(
      model,
      model.spec.tensors.filter((t) => t.merge).map((t) => t.name),
    );
  const baseTensors = await forwardTensors(base);
  const targetTensors = await forwardTensors(target);
  const problem = withTensors(plan, baseTensors, targetTensors);
  const result = activationMatching(
    plan,
    { spec: base.spec, tensors: baseTensors, config: forwardConfigOf(base) },
    { spec: target.spec, tensors: targetTensors, config: forwardConfigOf(target) },
    probe,
  );
  return { problem, result, unpaired };
}
