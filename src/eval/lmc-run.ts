import { planAlignment, withTensors } from '../align/alignment-problem.js';
import { identitySpaceMap, type SpaceMap } from '../align/space-map.js';
import { type WeightMatchingOptions, weightMatching } from '../align/weight-matching.js';
import type { Dataset } from '../data/dataset.js';
import { IncompatibleModelsError } from '../errors.js';
import type { UnmatchedPolicy } from '../merge/mal-interpolation.js';
import type { LoadedModel } from '../model/load-model.js';
import { readFiniteFloatTensors } from '../model/load-model.js';
import type { FloatTensor } from '../tensor/tensor.js';
import type { Evaluation } from './evaluate.js';
import { InterpolationPath } from './interpolation-path.js';
import { type LmcPoint, type LmcSummary, summarizeLmc } from './lmc-metrics.js';

export interface LmcOptions {
  readonly grid: readonly number[];
  /** Interpolate without aligning: every space keeps identity-with-truncation. */
  readonly naive: boolean;
  /** Base layers to transplant; all paired tensors when absent. */
  readonly layers?: readonly string[];
  readonly unmatched: UnmatchedPolicy;
  readonly alignment: WeightMatchingOptions;
  readonly epsilonFraction: number;
  /** Evaluates the model at every λ of the grid; may run them in parallel. */
  readonly evaluateAll: (
    models: readonly Map<string, FloatTensor>[],
    dataset: Dataset,
  ) => Promise<Evaluation[]>;
}

export interface LmcResult {
  readonly points: readonly LmcPoint[];
  readonly summary: LmcSummary;
  readonly alignment: {
    readonly objective: number;
    readonly initialObjective: number;
    readonly sweeps: number;
  } | null;
  readonly transplanted: readonly string[];
}

/**
 * A linear-mode-connectivity curve (MAL §5): align the target to the base (unless naive), then evaluate
 * `(1−λ)·θ + λ·T(θ_target)` on the data at each λ of the grid.
 */
export async function linearModeConnectivity(
  base: LoadedModel,
  target: LoadedModel,
  dataset: Dataset,
  options: LmcOptions,
): Promise<LmcResult> {
  const tensorPairs =
    options.layers === undefined ? undefined : layerTensorPairs(base, target, options.layers);
  const plan = planAlignment(base, target, tensorPairs);
  const baseTensors = await readFiniteFloatTensors(base, base.source.tensorNames());
  const problem = withTensors(
    plan,
    baseTensors,
    await readFiniteFloatTensors(
      target,
      plan.pairs.map((p) => p.targetName),
    ),
  );
  let maps: Map<string, SpaceMap>;
  let alignment: LmcResult['alignment'] = null;
  if (options.naive) {
    maps = new Map(plan.spaces.map((s) => [s.baseSpace, identitySpaceMap(s)]));
  } else {
    const result = await weightMatching(problem, options.alignment);
    maps = result.maps;
    alignment = {
      objective: result.objective,
      initialObjective: result.initialObjective,
      sweeps: result.sweeps,
    };
  }
  const path = new InterpolationPath(baseTensors, problem, maps, options.alignment.kernel, options.unmatched);
  const evaluations = await options.evaluateAll(
    options.grid.map((lambda) => path.at(lambda)),
    dataset,
  );
  const points = options.grid.map((lambda, i) => ({
    lambda,
    loss: evaluations[i].loss,
    accuracy: evaluations[i].accuracy,
  }));
  return {
    points,
    summary: summarizeLmc(points, { epsilonFraction: options.epsilonFraction }),
    alignment,
    transplanted: plan.pairs.map((p) => p.baseName),
  };
}

/** The mergeable tensors of the named base layers, paired by name with the target's. */
function layerTensorPairs(
  base: LoadedModel,
  target: LoadedModel,
  layers: readonly string[],
): [string, string][] {
  const targetNames = new Set(target.spec.tensors.map((t) => t.name));
  const mergeable = new Set(base.spec.tensors.filter((t) => t.merge).map((t) => t.name));
  const pairs: [string, string][] = [];
  for (const name of layers) {
    const layer = base.spec.layers.find((l) => l.name === name);
    if (layer === undefined) {
      throw new IncompatibleModelsError(
        `base model has no layer '${name}'; its layers: ${base.spec.layers.map((l) => l.name).join(', ')}`,
      );
    }
    for (const tensor of layer.tensors) {
      if (!mergeable.has(tensor)) continue;
      if (!targetNames.has(tensor))
        throw new IncompatibleModelsError(`target model has no tensor '${tensor}' (layer '${name}')`);
      pairs.push([tensor, tensor]);
    }
  }
  return pairs;
}
