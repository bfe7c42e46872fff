import { forwardConfigOf } from '../eval/model-evaluation.js';
import type { LoadedModel } from '../model/load-model.js';
import { readFiniteFloatTensors } from '../model/load-model.js';
import { type ActivationProbe, activationMatching } from './activation-matching.js';
import {
  type AlignmentMemoryEstimate,
  cacheBytesWithin,
  estimateAlignmentMemory,
} from './alignment-memory.js';
import { type AlignmentPlan, planAlignment } from './alignment-problem.js';
import { InProcessCostProducts } from './cost-product-runner.js';
import { StreamedPairedTensors } from './paired-tensors.js';
import { type WeightMatchingOptions, type WeightMatchingResult, weightMatching } from './weight-matching.js';

export interface AlignModelsResult {
  readonly plan: AlignmentPlan;
  readonly result: WeightMatchingResult;
  /** Base tensors left out because the target has no tensor of that name (they stay as they are in a merge). */
  readonly unpaired: readonly string[];
}

export interface StreamedAlignment extends AlignModelsResult {
  /** The pre-flight estimate the budget was checked against. */
  readonly memory: AlignmentMemoryEstimate;
  /** What was kept between uses at most. */
  readonly cacheBytes: number;
  /** Tensors read from the files (a tensor read again after it left the cache counts again). */
  readonly reads: number;
}

export interface AlignModelsOptions extends Partial<WeightMatchingOptions> {
  /** Memory the alignment may use in all; refused before any tensor is read when the estimate is over it. */
  readonly memoryBytes?: number;
  /** Called once the estimate is known, before any tensor is read. */
  readonly onEstimate?: (memory: AlignmentMemoryEstimate, cacheBytes: number) => void;
}

/**
 * Aligns the target to the base by weight matching, reading the paired tensors from the files as each step needs
 * them: memory is bounded by the widest step and the cache (see estimateAlignmentMemory), not by the models'
 * depth. A small model fits the cache whole and is read once.
 */
export async function alignModels(
  base: LoadedModel,
  target: LoadedModel,
  options: AlignModelsOptions = {},
): Promise<StreamedAlignment> {
  const plan = planAlignment(base, target);
  const paired = new Set(plan.pairs.map((p) => p.baseName));
  const unpaired = base.spec.tensors.filter((t) => t.merge && !paired.has(t.name)).map((t) => t.name);
  const tensors = new StreamedPairedTensors(base, target, 0);
  const memory = estimateAlignmentMemory(plan, (pair) => tensors.shapes(pair));
  const cacheBytes = cacheBytesWithin(memory, options.memoryBytes);
  options.onEstimate?.(memory, cacheBytes);
  const streamed = new StreamedPairedTensors(base, target, cacheBytes);
  const result = await weightMatching(
    { ...plan, tensors: streamed },
    {
      ...options,
      products: options.products ?? new InProcessCostProducts(streamed, undefined, true),
      collectGarbage: true,
    },
  );
  return { plan, result, unpaired, memory, cacheBytes, reads: streamed.reads };
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
  const result = activationMatching(
    plan,
    { spec: base.spec, tensors: baseTensors, config: forwardConfigOf(base) },
    { spec: target.spec, tensors: targetTensors, config: forwardConfigOf(target) },
    probe,
  );
  return { plan, result, unpaired };
}
