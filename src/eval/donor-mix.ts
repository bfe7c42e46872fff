import type { FloatTensor } from '../tensor/tensor.js';
import type { InterpolationPath } from './interpolation-path.js';

/** One donor of a mix: its path from the base, and the base layer each tensor it merges belongs to. */
export interface MixDonor {
  readonly path: InterpolationPath;
  /** Base tensor name → base layer (transplant unit) name, for every tensor the donor merges. */
  readonly tensorLayers: ReadonlyMap<string, string>;
}

/** A donor's weight: one for every layer, or one per base layer (a layer not listed takes `weight`). */
export interface DonorWeight {
  readonly weight: number;
  readonly layerWeights?: Readonly<Record<string, number>>;
}

/**
 * Several aligned donors merged into the same base: `θ ← w₀·θ + Σ wᵢ·Tᵢ(θᵢ)` with `w₀ = 1 − Σ wᵢ`, tensor by
 * tensor, where a donor's weight may differ per layer. One donor walks its own path (any merge method, the weight
 * being λ); several are summed as `θ + Σ wᵢ·(Tᵢ − θ)` with `Tᵢ` the path's end (λ = 1), which is the formula above
 * only for a method that is linear in λ (MAL's interpolation, where an unmatched entry's end is zero or, with
 * `keep`, the base's own value), so plans refuse several donors with any other method.
 */
export class DonorMix {
  private readonly ends = new Map<number, Map<string, FloatTensor>>();

  constructor(
    private readonly baseTensors: ReadonlyMap<string, FloatTensor>,
    private readonly donors: readonly MixDonor[],
  ) {}

  get size(): number {
    return this.donors.length;
  }

  /** The merged model with the given weights, one per donor in order (missing trailing donors weigh 0). */
  at(weights: readonly DonorWeight[]): Map<string, FloatTensor> {
    if (weights.length > this.donors.length)
      throw new RangeError(`${weights.length} weights for ${this.donors.length} donor(s)`);
    if (weights.length === 1) return this.alongOnePath(this.donors[0], weights[0]);
    const out = new Map<string, FloatTensor>();
    for (const [name, tensor] of this.baseTensors) {
      const terms: { weight: number; end: Float32Array }[] = [];
      weights.forEach((w, i) => {
        const layer = this.donors[i].tensorLayers.get(name);
        if (layer === undefined) return;
        const weight = w.layerWeights?.[layer] ?? w.weight;
        if (weight !== 0) terms.push({ weight, end: this.endOf(i).get(name)!.data });
      });
      if (terms.length === 0) {
        out.set(name, tensor);
        continue;
      }
      const data = new Float32Array(tensor.data.length);
      for (let k = 0; k < data.length; k++) {
        const base = tensor.data[k];
        let value = base;
        for (const term of terms) value += term.weight * (term.end[k] - base);
        data[k] = value;
      }
      out.set(name, { shape: tensor.shape, data });
    }
    return out;
  }

  /** One donor: each tensor from the path at its layer's weight, one pass over the weights per distinct weight. */
  private alongOnePath(donor: MixDonor, weight: DonorWeight): Map<string, FloatTensor> {
    const byWeight = new Map<number, Map<string, FloatTensor>>();
    const pointAt = (lambda: number): Map<string, FloatTensor> => {
      let point = byWeight.get(lambda);
      if (point === undefined) {
        point = donor.path.at(lambda);
        byWeight.set(lambda, point);
      }
      return point;
    };
    const out = new Map<string, FloatTensor>();
    for (const [name, tensor] of this.baseTensors) {
      const layer = donor.tensorLayers.get(name);
      out.set(
        name,
        layer === undefined ? tensor : pointAt(weight.layerWeights?.[layer] ?? weight.weight).get(name)!,
      );
    }
    return out;
  }

  private endOf(index: number): Map<string, FloatTensor> {
    let end = this.ends.get(index);
    if (end === undefined) {
      end = this.donors[index].path.at(1);
      this.ends.set(index, end);
    }
    return end;
  }
}
