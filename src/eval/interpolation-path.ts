import type { AlignmentProblem } from '../align/alignment-problem.js';
import { mapTargetTensor } from '../align/apply-maps.js';
import type { KernelPolicy } from '../align/axis-index.js';
import type { SpaceMaps } from '../align/space-map.js';
import { IncompatibleModelsError } from '../errors.js';
import type { UnmatchedPolicy } from '../merge/mal-interpolation.js';
import {
  assertAncestorGiven,
  assertMethodFitsWidths,
  choiceNeedsMatchedMask,
  type MergeMethodChoice,
  mergeTensorWith,
} from '../merge/merge-method-registry.js';
import { InvalidMergeOptionError } from '../merge/merge-options-error.js';
import type { FloatTensor } from '../tensor/tensor.js';
import {
  assertRegMeanFamily,
  measureEndpoint,
  type RegMeanEndpoint,
  type RegMeanLayer,
  type RegMeanSettings,
  regmeanLayers,
  regmeanWeighted,
} from './regmean.js';
import { type RepairEndpoints, type RepairSettings, repairEndpoints, repairMerged } from './repair.js';

/** A path's REPAIR: the settings, both endpoints' statistics (measured once), its maps and unmatched policy. */
export interface PathRepair {
  readonly settings: RepairSettings;
  readonly endpoints: RepairEndpoints;
  readonly maps: SpaceMaps;
  readonly unmatched: UnmatchedPolicy;
}

/** A path's RegMean: the dense layers it re-solves and both endpoints' Gram matrices (measured once). */
export interface PathRegMean {
  readonly layers: readonly RegMeanLayer[];
  readonly base: RegMeanEndpoint;
  /** The path's end (λ = 1) in the base's frame. */
  readonly end: RegMeanEndpoint;
}

/** How a path merges: the method with its parameters, and what the method may need besides the two models. */
export interface PathMerge {
  readonly choice: MergeMethodChoice;
  /**
   * The common ancestor's tensors by base tensor name (a model of the base's architecture), for methods that
   * need one (task-arithmetic, ties, dare-*); every paired tensor must be there, in the base's shape.
   */
  readonly ancestor?: ReadonlyMap<string, FloatTensor>;
  /** Seeds methods that draw random numbers (DARE); default 0. */
  readonly seed?: number;
  /**
   * REPAIR every point of the path with λ > 0 on this data (see repair.ts); the endpoints' statistics are
   * measured once, at the first repaired point. Absent: no repair.
   */
  readonly repair?: RepairSettings;
  /**
   * Merge the dense layers fed by merged layers by RegMean on this data (see regmean.ts) instead of the straight
   * line; the endpoints' Gram matrices are measured once, at the first point that needs them. Needs the mal
   * method. Absent: the method's merge everywhere.
   */
  readonly regmean?: RegMeanSettings;
}

/**
 * The path between a base model (λ = 0) and a target mapped into its frame, as the chosen merge method walks it
 * (by default MAL's straight line `(1−λ)·θ + λ·T(θ_target)`): every paired tensor is merged with weight λ of the
 * target, every other base tensor stays. The target is mapped once; each point of a curve is then one pass over
 * the weights.
 */
export class InterpolationPath {
  private readonly mapped = new Map<string, { data: Float32Array; matched?: Uint8Array }>();
  private readonly merge: PathMerge;
  private readonly maps: SpaceMaps;
  private endpoints: RepairEndpoints | undefined;
  private regmeanInputs: PathRegMean | undefined;

  /**
   * `merge`: a `PathMerge`, or just MAL's unmatched policy. A method that needs equal widths throws
   * `IncompatibleModelsError` when the maps pair spaces of different widths; one that needs an ancestor throws
   * `InvalidMergeOptionError` naming the method when none is given.
   */
  constructor(
    private readonly baseTensors: ReadonlyMap<string, FloatTensor>,
    problem: AlignmentProblem,
    maps: SpaceMaps,
    kernel: KernelPolicy,
    merge: UnmatchedPolicy | PathMerge,
  ) {
    this.merge = typeof merge === 'string' ? { choice: { method: 'mal', unmatched: merge } } : merge;
    this.maps = maps;
    const { choice, ancestor } = this.merge;
    assertMethodFitsWidths(choice.method, maps.values());
    assertAncestorGiven(choice.method, ancestor !== undefined);
    if (this.merge.regmean !== undefined) assertRegMeanFamily(this.merge.regmean.spec);
    if (this.merge.regmean !== undefined && choice.method !== 'mal')
      throw new InvalidMergeOptionError(
        'regmean',
        `re-solves the straight line's dense layers, so it needs the mal method, not '${choice.method}'`,
      );
    const withMask = choiceNeedsMatchedMask(choice);
    for (const pair of problem.pairs) {
      const m = mapTargetTensor({ ...pair, baseShape: pair.base.shape }, maps, kernel, withMask);
      this.mapped.set(pair.baseName, { data: m.data, matched: m.matched });
      if (ancestor !== undefined) checkAncestorTensor(ancestor, pair.baseName, pair.base.shape);
    }
  }

  /**
   * The model at merge factor λ: base tensors, with paired ones replaced by the method's merge at λ (its dense
   * layers re-solved by RegMean when the path was made with `regmean`), then REPAIRed when it was made with
   * `repair` (λ = 0 is the base itself and is never touched).
   */
  at(lambda: number): Map<string, FloatTensor> {
    let merged = this.mergedAt(lambda);
    const regmean = lambda === 0 || lambda === 1 ? undefined : this.regmean();
    if (regmean !== undefined)
      merged = regmeanWeighted(merged, regmean.layers, [
        { endpoint: regmean.base, weightIn: () => 1 - lambda },
        { endpoint: regmean.end, weightIn: () => lambda },
      ]);
    const repair = this.repair();
    if (repair === undefined || lambda === 0) return merged;
    return repairMerged(merged, lambda, repair.endpoints, repair.maps, repair.unmatched, repair.settings);
  }

  /**
   * The path's end (λ = 1) before any REPAIR: the target mapped into the base's frame where the merge pairs
   * tensors. A mix of several donors sums these ends and REPAIRs the sum once, by its own weights.
   */
  end(): Map<string, FloatTensor> {
    return this.mergedAt(1);
  }

  /** What REPAIR of this path (or of a mix it is a donor of) reads; undefined when the path has no repair. */
  repair(): PathRepair | undefined {
    const { repair, choice } = this.merge;
    if (repair === undefined) return undefined;
    this.endpoints ??= repairEndpoints(
      repair,
      new Set(this.mapped.keys()),
      this.baseTensors,
      this.mergedAt(1),
    );
    return {
      settings: repair,
      endpoints: this.endpoints,
      maps: this.maps,
      unmatched: choice.method === 'mal' ? choice.unmatched : 'zero',
    };
  }

  /** What RegMean of this path (or of a mix it is a donor of) reads; undefined when the path has no RegMean. */
  regmean(): PathRegMean | undefined {
    const settings = this.merge.regmean;
    if (settings === undefined) return undefined;
    if (this.regmeanInputs === undefined) {
      const layers = regmeanLayers(settings.spec, new Set(this.mapped.keys()));
      this.regmeanInputs = {
        layers,
        base: measureEndpoint(settings, layers, this.baseTensors),
        end: measureEndpoint(settings, layers, this.mergedAt(1)),
      };
    }
    return this.regmeanInputs;
  }

  private mergedAt(lambda: number): Map<string, FloatTensor> {
    const out = new Map<string, FloatTensor>();
    const { choice, ancestor, seed = 0 } = this.merge;
    let tensorIndex = 0;
    for (const [name, tensor] of this.baseTensors) {
      const m = this.mapped.get(name);
      out.set(
        name,
        m === undefined
          ? tensor
          : {
              shape: tensor.shape,
              data: mergeTensorWith(choice, {
                tensorName: name,
                tensorIndex,
                base: tensor.data,
                mapped: m.data,
                matched: m.matched,
                ancestor: ancestor?.get(name)?.data,
                lambda,
                seed,
              }),
            },
      );
      tensorIndex++;
    }
    return out;
  }
}

function checkAncestorTensor(
  ancestor: ReadonlyMap<string, FloatTensor>,
  name: string,
  shape: readonly number[],
): void {
  const tensor = ancestor.get(name);
  if (tensor === undefined) throw new IncompatibleModelsError(`the ancestor has no tensor '${name}'`);
  if (tensor.shape.length !== shape.length || tensor.shape.some((d, i) => d !== shape[i])) {
    throw new IncompatibleModelsError(
      `the ancestor's tensor '${name}' has shape [${tensor.shape.join(', ')}], the base [${shape.join(', ')}]`,
    );
  }
}
