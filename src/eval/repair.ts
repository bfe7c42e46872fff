/**
 * REPAIR (Jordan et al., 2023; MAL §7): interpolating aligned units shrinks their spread. After a merge at λ,
 * each merged hidden unit's pre-activation mean and standard deviation, measured on unlabelled data, are set to
 * `(1−λ)·stat_base + λ·stat_target` (for a mix of several donors `w₀·stat_base + Σ wᵢ·stat_i`), by an affine
 * correction folded into the unit's weight row and bias; layers
 * followed by BatchNorm get the BatchNorm's running statistics reset on the data instead. The output (logit)
 * layer is never corrected.
 */
import type { SpaceMaps } from '../align/space-map.js';
import type { Dataset } from '../data/dataset.js';
import type { UnmatchedPolicy } from '../merge/mal-interpolation.js';
import type { ArchitectureSpec, LayerSpec } from '../spec/architecture-spec.js';
import type { FloatTensor } from '../tensor/tensor.js';
import {
  ActivationStatisticsError,
  hiddenLayers,
  type LayerStatistics,
  layerStatistics,
  type StatisticsOptions,
} from './activation-statistics.js';
import { resetBatchNormStatistics } from './batch-norm-reset.js';
import type { ForwardConfig } from './forward.js';

/** What REPAIR needs besides the path: the base's architecture and the unlabelled data it measures on. */
export interface RepairSettings {
  readonly spec: ArchitectureSpec;
  readonly config?: ForwardConfig;
  readonly data: Dataset;
  readonly options?: StatisticsOptions;
}

/** The endpoints' pre-activation statistics of the layers REPAIR corrects, measured once per path. */
export interface RepairEndpoints {
  /** Merged hidden layers without a BatchNorm after them, in network order. */
  readonly layers: readonly LayerSpec[];
  readonly base: ReadonlyMap<string, LayerStatistics>;
  /** The aligned target endpoint (the path at λ = 1), already in the base's frame. */
  readonly target: ReadonlyMap<string, LayerStatistics>;
  /** Whether the spec has BatchNorm layers, whose running statistics are reset instead. */
  readonly batchNorm: boolean;
}

/** Below this a unit's measured spread is treated as zero (a dead unit): only its mean is moved. */
const DEAD_UNIT_STD = 1e-8;

/**
 * The layers REPAIR corrects among those whose tensors the merge touches (`merged`: base tensor names), and the
 * two endpoints' statistics of them.
 */
export function repairEndpoints(
  settings: RepairSettings,
  merged: ReadonlySet<string>,
  base: ReadonlyMap<string, FloatTensor>,
  target: ReadonlyMap<string, FloatTensor>,
): RepairEndpoints {
  const normalized = new Set(
    settings.spec.layers.filter((l) => l.kind === 'batchnorm').map((l) => l.input ?? l.output),
  );
  const layers = hiddenLayers(settings.spec).filter(
    (l) => merged.has(`${l.name}.weight`) && !normalized.has(l.output),
  );
  const names = layers.map((l) => l.name);
  const measure = (tensors: ReadonlyMap<string, FloatTensor>): Map<string, LayerStatistics> =>
    names.length === 0
      ? new Map()
      : layerStatistics({ ...settings, tensors }, settings.data, settings.options, names);
  return {
    layers,
    base: measure(base),
    target: measure(target),
    batchNorm: normalized.size > 0,
  };
}

/**
 * The merged model at λ with REPAIR applied: `repairWeighted` with the base weighing 1−λ and the aligned target λ
 * in every corrected layer.
 */
export function repairMerged(
  merged: ReadonlyMap<string, FloatTensor>,
  lambda: number,
  endpoints: RepairEndpoints,
  maps: SpaceMaps,
  unmatched: UnmatchedPolicy,
  settings: RepairSettings,
): Map<string, FloatTensor> {
  return repairWeighted(
    merged,
    {
      layers: endpoints.layers,
      base: endpoints.base,
      batchNorm: endpoints.batchNorm,
      donors: [{ statistics: endpoints.target, maps, unmatched, weightIn: () => lambda }],
    },
    settings,
  );
}

/** One aligned donor of a weighted merge, as REPAIR sees it. */
export interface RepairDonor {
  /** The donor endpoint's pre-activation statistics, measured on the donor mapped into the base's frame. */
  readonly statistics: ReadonlyMap<string, LayerStatistics>;
  /** Its maps: a base unit its output map sends nowhere received no donor unit. */
  readonly maps: SpaceMaps;
  readonly unmatched: UnmatchedPolicy;
  /** Its weight wᵢ in a layer; 0 where it does not merge that layer. */
  readonly weightIn: (layer: string) => number;
}

/** The base's and the donors' statistics of the layers a weighted merge corrects. */
export interface WeightedRepair {
  /** Merged hidden layers without a BatchNorm after them, in network order. */
  readonly layers: readonly LayerSpec[];
  readonly base: ReadonlyMap<string, LayerStatistics>;
  readonly batchNorm: boolean;
  readonly donors: readonly RepairDonor[];
}

/**
 * REPAIR of a weighted merge `θ ← w₀·θ + Σ wᵢ·Tᵢ(θᵢ)` (w₀ = 1 − Σ wᵢ, per layer): each corrected layer's units get
 * pre-activation mean and standard deviation `w₀·stat_base + Σ wᵢ·stat_i`, layer by layer in network order, each
 * layer measured on the model as corrected so far, so a correction accounts for the ones before it. A unit donor i
 * sends no unit onto takes stat_i = 0 under `unmatched: zero` and the base's under `keep`. A layer no donor weighs
 * is left alone. Returns a new map; uncorrected tensors are shared with `merged`.
 */
export function repairWeighted(
  merged: ReadonlyMap<string, FloatTensor>,
  repair: WeightedRepair,
  settings: RepairSettings,
): Map<string, FloatTensor> {
  let tensors = new Map(merged);
  if (repair.batchNorm)
    tensors = resetBatchNormStatistics({ ...settings, tensors }, settings.data, settings.options);
  for (const layer of repair.layers) {
    const base = repair.base.get(layer.name);
    if (base === undefined) {
      throw new ActivationStatisticsError(`REPAIR: no base statistics for layer '${layer.name}'`);
    }
    const donors = repair.donors
      .map((donor) => ({ donor, weight: donor.weightIn(layer.name) }))
      .filter(({ weight }) => weight !== 0)
      .map(({ donor, weight }) => {
        const statistics = donor.statistics.get(layer.name);
        if (statistics === undefined) {
          throw new ActivationStatisticsError(`REPAIR: no donor statistics for layer '${layer.name}'`);
        }
        const map = layer.output === null ? undefined : donor.maps.get(layer.output)?.map;
        return { weight, statistics, map, unmatched: donor.unmatched };
      });
    if (donors.length === 0) continue;
    const measured = layerStatistics({ ...settings, tensors }, settings.data, settings.options, [
      layer.name,
    ]).get(layer.name);
    if (measured === undefined) {
      throw new ActivationStatisticsError(`REPAIR: layer '${layer.name}' was not measured`);
    }
    const baseWeight = 1 - donors.reduce((sum, d) => sum + d.weight, 0);
    const units = base.pre.mean.length;
    const scale = new Float64Array(units);
    const shift = new Float64Array(units);
    for (let i = 0; i < units; i++) {
      let goalMean = baseWeight * base.pre.mean[i];
      let goalStd = baseWeight * base.pre.std[i];
      for (const d of donors) {
        const orphan = d.map !== undefined && d.map[i] === -1;
        const keep = d.unmatched === 'keep';
        goalMean += d.weight * (orphan ? (keep ? base.pre.mean[i] : 0) : d.statistics.pre.mean[i]);
        goalStd += d.weight * (orphan ? (keep ? base.pre.std[i] : 0) : d.statistics.pre.std[i]);
      }
      const std = measured.pre.std[i];
      scale[i] = std > DEAD_UNIT_STD ? goalStd / std : 1;
      // New pre-activation: (z − μ_measured)·scale + μ_goal.
      shift[i] = goalMean - measured.pre.mean[i] * scale[i];
    }
    tensors.set(`${layer.name}.weight`, scaledRows(tensors, `${layer.name}.weight`, scale));
    const bias = tensors.get(`${layer.name}.bias`);
    if (bias !== undefined) {
      const data = new Float32Array(units);
      for (let i = 0; i < units; i++) data[i] = bias.data[i] * scale[i] + shift[i];
      tensors.set(`${layer.name}.bias`, { shape: bias.shape, data });
    }
  }
  return tensors;
}

function scaledRows(
  tensors: ReadonlyMap<string, FloatTensor>,
  name: string,
  scale: Float64Array,
): FloatTensor {
  const weight = tensors.get(name);
  if (weight === undefined) throw new ActivationStatisticsError(`REPAIR: the model has no tensor '${name}'`);
  const rowSize = weight.data.length / scale.length;
  const data = new Float32Array(weight.data.length);
  for (let i = 0; i < scale.length; i++) {
    for (let k = i * rowSize; k < (i + 1) * rowSize; k++) data[k] = weight.data[k] * scale[i];
  }
  return { shape: weight.shape, data };
}
