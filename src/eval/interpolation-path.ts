import type { AlignmentProblem } from '../align/alignment-problem.js';
import { mapTargetTensor } from '../align/apply-maps.js';
import type { KernelPolicy } from '../align/axis-index.js';
import type { SpaceMaps } from '../align/space-map.js';
import { malInterpolate, type UnmatchedPolicy } from '../merge/mal-interpolation.js';
import type { FloatTensor } from '../tensor/tensor.js';

/**
 * The straight line between a base model (λ = 0) and a target mapped into its frame (λ = 1), as MAL merges it:
 * every paired tensor is interpolated, every other base tensor stays. The target is mapped once; each point of
 * a curve is then one pass over the weights.
 */
export class InterpolationPath {
  private readonly mapped = new Map<string, { data: Float32Array; matched?: Uint8Array }>();

  constructor(
    private readonly baseTensors: ReadonlyMap<string, FloatTensor>,
    problem: AlignmentProblem,
    maps: SpaceMaps,
    kernel: KernelPolicy,
    private readonly unmatched: UnmatchedPolicy,
  ) {
    for (const pair of problem.pairs) {
      const m = mapTargetTensor({ ...pair, baseShape: pair.base.shape }, maps, kernel, unmatched === 'keep');
      this.mapped.set(pair.baseName, { data: m.data, matched: m.matched });
    }
  }

  /** The model at merge factor λ: base tensors, with paired ones replaced by `(1−λ)·θ + λ·T(θ_target)`. */
  at(lambda: number): Map<string, FloatTensor> {
    const out = new Map<string, FloatTensor>();
    for (const [name, tensor] of this.baseTensors) {
      const m = this.mapped.get(name);
      out.set(
        name,
        m === undefined
          ? tensor
          : {
              shape: tensor.shape,
              data: malInterpolate(tensor.data, m.data, lambda, this.unmatched, m.matched),
            },
      );
    }
    return out;
  }
}
