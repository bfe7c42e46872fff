import type { FloatTensor } from '../tensor/tensor.js';
import { hiddenLayers, type LayerStatistics } from './activation-statistics.js';
import type { InterpolationPath, PathRegMean, PathRepair } from './interpolation-path.js';
import { type RegMeanLayer, type RegMeanTerm, regmeanWeighted } from './regmean.js';
import { type RepairDonor, repairWeighted } from './repair.js';

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
 * `keep`, the base's own value), so plans refuse several donors with any other method. When the donors' paths
 * REPAIR, the sum is REPAIRed too: each merged unit's pre-activation statistics are set to `w₀·base + Σ wᵢ·donor i`
 * of the endpoints (see `repairWeighted`), with the weights of that unit's layer.
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
    return this.repaired(this.regmeanSolved(out, weights), weights);
  }

  /**
   * The summed mix with its RegMean layers re-solved by the mix's weights (the base weighing `w₀` in each
   * layer), when the donors' paths use RegMean; the sum itself otherwise.
   */
  private regmeanSolved(
    mix: Map<string, FloatTensor>,
    weights: readonly DonorWeight[],
  ): Map<string, FloatTensor> {
    const inputs = this.donors.map((d) => d.path.regmean());
    if (inputs.every((r) => r === undefined)) return mix;
    const layers = new Map<string, RegMeanLayer>();
    const baseGrams = new Map<string, Float64Array>();
    const paths: PathRegMean[] = [];
    for (const r of inputs) {
      if (r === undefined) throw new RangeError('donors of one mix must all use RegMean or none');
      for (const l of r.layers) layers.set(l.layer.name, l);
      for (const [layer, gram] of r.base.grams) baseGrams.set(layer, gram);
      paths.push(r);
    }
    const donorSum = (layer: string) =>
      weights.reduce((sum, _, i) => sum + this.weightIn(i, weights, layer), 0);
    const terms: RegMeanTerm[] = [
      { endpoint: { tensors: this.baseTensors, grams: baseGrams }, weightIn: (layer) => 1 - donorSum(layer) },
      // A donor that merges a layer some other donor's merge feeds, but nothing upstream of it itself, reads the
      // base's inputs there: the base's Gram matrix is its own.
      ...paths.map((r, i) => ({
        endpoint: { tensors: r.end.tensors, grams: new Map([...baseGrams, ...r.end.grams]) },
        weightIn: (layer: string) => this.weightIn(i, weights, layer),
      })),
    ];
    return regmeanWeighted(mix, [...layers.values()], terms);
  }

  /** Donor `index`'s weight in a base layer (by its main layer's name); 0 where it does not merge that layer. */
  private weightIn(index: number, weights: readonly DonorWeight[], layer: string): number {
    const unit = this.donors[index].tensorLayers.get(`${layer}.weight`);
    const w = weights[index];
    if (unit === undefined || w === undefined) return 0;
    return w.layerWeights?.[unit] ?? w.weight;
  }

  /** The summed mix REPAIRed by its weights, when the donors' paths REPAIR; the sum itself otherwise. */
  private repaired(mix: Map<string, FloatTensor>, weights: readonly DonorWeight[]): Map<string, FloatTensor> {
    const repairs = this.donors.map((d) => d.path.repair());
    const first = repairs[0];
    if (first === undefined) {
      if (repairs.some((r) => r !== undefined))
        throw new RangeError('donors of one mix must all REPAIR or none');
      return mix;
    }
    const paths: PathRepair[] = [];
    for (const r of repairs) {
      if (r === undefined) throw new RangeError('donors of one mix must all REPAIR or none');
      paths.push(r);
    }
    const corrected = new Set(paths.flatMap((r) => r.endpoints.layers.map((l) => l.name)));
    const base = new Map<string, LayerStatistics>();
    for (const r of paths) for (const [layer, statistics] of r.endpoints.base) base.set(layer, statistics);
    const donors: RepairDonor[] = paths.map((r, i) => ({
      statistics: r.endpoints.target,
      maps: r.maps,
      unmatched: r.unmatched,
      weightIn: (layer) => this.weightIn(i, weights, layer),
    }));
    return repairWeighted(
      mix,
      {
        layers: hiddenLayers(first.settings.spec).filter((l) => corrected.has(l.name)),
        base,
        batchNorm: paths.some((r) => r.endpoints.batchNorm),
        donors,
      },
      first.settings,
    );
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
      end = this.donors[index].path.end();
      this.ends.set(index, end);
    }
    return end;
  }
}
