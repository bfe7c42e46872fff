/**
 * REPAIR (Jordan et al., 2023; MAL §7): interpolating aligned units shrinks their spread. After a merge at λ,
 * each merged hidden unit's pre-activation mean and standard deviation, measured on unlabelled data, are set to
 * `(1−λ)·stat_base + λ·stat_target`, by an affine correction folded into the unit's weight row and bias; layers
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
 * The merged model at λ with REPAIR applied, layer by layer in network order: each layer is measured on the
 * model as corrected so far, so a correction accounts for the ones before it. A unit no target unit lands on
 * (its output map sends it nowhere) takes target statistic 0 under `unmatched: zero` and the base's under
 * `keep`. Returns a new map; uncorrected tensors are shared with `merged`.
 */
export function repairMerged(
  merged: ReadonlyMap<string, FloatTensor>,
  lambda: number,
  endpoints: RepairEndpoints,
  maps: SpaceMaps,
  unmatched: UnmatchedPolicy,
  settings: RepairSettings,
): Map<string, FloatTensor> {
  let tensors = new Map(merged);
  if (endpoints.batchNorm)
    tensors = resetBatchNormStatistics({ ...settings, tensors }, settings.data, settings.options);
  for (const layer of endpoints.layers) {
    const base = endpoints.base.get(layer.name);
    const target = endpoints.target.get(layer.name);
    if (base === undefined || target === undefined) {
      throw new ActivationStatisticsError(`REPAIR: no endpoint statistics for layer '${layer.name}'`);
    }
    const measured = layerStatistics({ ...settings, tensors }, settings.data, settings.options, [
      layer.name,
    ]).get(layer.name);
    if (measured === undefined) {
      throw new ActivationStatisticsError(`REPAIR: layer '${layer.name}' was not measured`);
    }
    const map = layer.output === null ? undefined : maps.get(layer.output)?.map;
    const units = base.pre.mean.length;
    const scale = new Float64Array(units);
    const shift = new Float64Array(units);
    for (let i = 0; i < units; i++) {
      const orphan = map !== undefined && map[i] === -1;
      const targetMean = orphan ? (unmatched === 'zero' ? 0 : base.pre.mean[i]) : target.pre.mean[i];
      const targetStd = orphan ? (unmatched === 'zero' ? 0 : base.pre.std[i]) : target.pre.std[i];
      const goalMean = (1 - lambda) * base.pre.mean[i] + lambda * targetMean;
      const goalStd = (1 - lambda) * base.pre.std[i] + lambda * targetStd;
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
