/**
 * Statistics of hidden activations on a batch of unlabelled examples, streamed in batches so memory stays
 * bounded whatever the number of examples: per-unit mean and spread of every hidden layer's pre-activations
 * (what REPAIR corrects) and post-activations (what activation matching correlates), and for two models run on
 * the same examples the correlation between the units of paired spaces (the cost of activation matching).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Dataset } from '../data/dataset.js';
import { MalError } from '../errors.js';
import type { ArchitectureSpec, LayerSpec } from '../spec/architecture-spec.js';
import type { FloatTensor } from '../tensor/tensor.js';
import { disposeParams, modelInputShape, paramsFromTensors } from './evaluate.js';
import { type ActivationStage, type ForwardConfig, forwardLogits, type ParamMap } from './forward.js';
import { resolveForwardSettings } from './forward-settings.js';
import { CrossMomentsAccumulator, type UnitMoments, UnitMomentsAccumulator } from './unit-moments.js';

export type { UnitMoments } from './unit-moments.js';

/** Activation statistics cannot be taken for this model or data (family, missing space, no examples). */
export class ActivationStatisticsError extends MalError {
  override readonly name = 'ActivationStatisticsError';
}

/** A model as statistics read it: its spec, its tensors and the forward settings shapes cannot give. */
export interface StatisticsModel {
  readonly spec: ArchitectureSpec;
  readonly tensors: ReadonlyMap<string, FloatTensor>;
  readonly config?: ForwardConfig;
}

export interface StatisticsOptions {
  /** Use the first `examples` examples of the data set; default all. */
  readonly examples?: number;
  /** Examples per forward pass; default 256. */
  readonly batchSize?: number;
}

/** Statistics of one hidden layer's output units. */
export interface LayerStatistics {
  readonly layer: string;
  /** The unit space the layer writes. */
  readonly space: string;
  readonly pre: UnitMoments;
  readonly post: UnitMoments;
}

/** The families whose hidden spaces are each written by exactly one layer, so a space's activations are known. */
const STATISTICS_FAMILIES = new Set(['mlp', 'cnn']);

/** The dense or conv layers whose outputs are hidden (free) spaces, in network order. */
export function hiddenLayers(spec: ArchitectureSpec): LayerSpec[] {
  assertStatisticsFamily(spec);
  const free = new Set(spec.spaces.filter((s) => s.kind === 'free').map((s) => s.name));
  return spec.layers.filter(
    (layer) =>
      (layer.kind === 'dense' || layer.kind === 'conv') && layer.output !== null && free.has(layer.output),
  );
}

/** The layer that writes `space` (its units' activations are that layer's outputs). */
export function layerWritingSpace(spec: ArchitectureSpec, space: string): LayerSpec {
  const layer = hiddenLayers(spec).find((l) => l.output === space);
  if (layer === undefined) {
    throw new ActivationStatisticsError(
      `activation statistics: no dense or convolution layer writes the hidden space '${space}'`,
    );
  }
  return layer;
}

function assertStatisticsFamily(spec: ArchitectureSpec): void {
  if (!STATISTICS_FAMILIES.has(spec.family)) {
    throw new ActivationStatisticsError(
      `activation statistics are not supported for ${spec.family} models yet (only mlp and cnn): activation matching and REPAIR need them; use weight matching and no repair`,
    );
  }
}

/**
 * Per-unit moments of the pre- and post-activations of every hidden layer of `model` (or only of `layers`),
 * on the data set's first examples.
 */
export function layerStatistics(
  model: StatisticsModel,
  data: Dataset,
  options: StatisticsOptions = {},
  layers?: readonly string[],
): Map<string, LayerStatistics> {
  const wanted = hiddenLayers(model.spec).filter((l) => layers === undefined || layers.includes(l.name));
  const accumulators = new Map<string, Record<ActivationStage, UnitMomentsAccumulator | undefined>>();
  for (const layer of wanted) accumulators.set(layer.name, { pre: undefined, post: undefined });
  try {
    forEachBatch([model], data, options, (recorded) => {
      for (const [key, x] of recorded[0]) {
        const [layer, stage] = splitKey(key);
        const slot = accumulators.get(layer);
        if (slot === undefined) continue;
        slot[stage] ??= new UnitMomentsAccumulator(x.shape[1]);
        slot[stage].add(x).dispose();
      }
    });
    const out = new Map<string, LayerStatistics>();
    for (const layer of wanted) {
      const slot = accumulators.get(layer.name);
      if (slot?.pre === undefined || slot.post === undefined) {
        throw new ActivationStatisticsError(
          `activation statistics: the forward pass recorded no activations for layer '${layer.name}'`,
        );
      }
      out.set(layer.name, {
        layer: layer.name,
        space: layer.output ?? '',
        pre: slot.pre.moments(),
        post: slot.post.moments(),
      });
    }
    return out;
  } finally {
    for (const slot of accumulators.values()) {
      slot.pre?.dispose();
      slot.post?.dispose();
    }
  }
}

/**
 * The Gram matrix of each named hidden layer's post-activations with a constant 1 appended (`[x, 1]`), averaged
 * over the data's first examples: `(units+1)²` values, row-major, in float64. What RegMean weighs a layer it
 * merges by, when that layer reads these activations. Dense layers only (a convolution's rows are positions).
 */
export function postActivationGrams(
  model: StatisticsModel,
  data: Dataset,
  options: StatisticsOptions,
  layers: readonly string[],
): Map<string, Float64Array> {
  const sums = new Map<string, Float64Array>();
  let rows = 0;
  forEachBatch([model], data, options, ([recorded]) => {
    let batchRows = 0;
    for (const layer of layers) {
      const x = recorded.get(`${layer}:post`);
      if (x === undefined)
        throw new ActivationStatisticsError(
          `activation statistics: the forward pass recorded no activations for layer '${layer}'`,
        );
      batchRows = x.shape[0];
      const size = x.shape[1] + 1;
      const product = tf.tidy(() => {
        const augmented = tf.concat([x, tf.ones([x.shape[0], 1])], 1);
        return tf.matMul(augmented, augmented, true, false);
      });
      const values = product.dataSync();
      product.dispose();
      let sum = sums.get(layer);
      if (sum === undefined) {
        sum = new Float64Array(size * size);
        sums.set(layer, sum);
      }
      for (let k = 0; k < sum.length; k++) sum[k] += values[k];
    }
    rows += batchRows;
  });
  for (const sum of sums.values()) for (let k = 0; k < sum.length; k++) sum[k] /= rows;
  return sums;
}

/** A base space and the target space whose unit correlations are wanted. */
export interface SpaceCorrelationRequest {
  readonly baseSpace: string;
  readonly targetSpace: string;
}

/** Pearson correlations `[baseWidth, targetWidth]`, row-major, of the post-activations of two spaces. */
export interface SpaceCorrelation extends SpaceCorrelationRequest {
  readonly baseWidth: number;
  readonly targetWidth: number;
  readonly correlation: Float64Array;
}

/**
 * Runs both models on the same examples and correlates, for each request, the base space's post-activations
 * with the target space's, over examples and (convolutions) spatial positions. Both spaces of a request must
 * have the same number of positions per example (same image size at that depth).
 */
export function spaceCorrelations(
  base: StatisticsModel,
  target: StatisticsModel,
  requests: readonly SpaceCorrelationRequest[],
  data: Dataset,
  options: StatisticsOptions = {},
): Map<string, SpaceCorrelation> {
  const layers = requests.map((r) => ({
    request: r,
    base: layerWritingSpace(base.spec, r.baseSpace).name,
    target: layerWritingSpace(target.spec, r.targetSpace).name,
  }));
  const accumulators = new Map<string, CrossMomentsAccumulator>();
  try {
    forEachBatch([base, target], data, options, ([baseRecorded, targetRecorded]) => {
      for (const { request, base: b, target: t } of layers) {
        const x = baseRecorded.get(`${b}:post`);
        const y = targetRecorded.get(`${t}:post`);
        if (x === undefined || y === undefined) {
          throw new ActivationStatisticsError(
            `activation statistics: no activations recorded for base layer '${b}' or target layer '${t}'`,
          );
        }
        if (x.shape[0] !== y.shape[0]) {
          throw new ActivationStatisticsError(
            `activation matching: base space '${request.baseSpace}' has ${x.shape[0]} positions per batch but target space '${request.targetSpace}' has ${y.shape[0]}; their feature maps differ in size`,
          );
        }
        let accumulator = accumulators.get(request.baseSpace);
        if (accumulator === undefined) {
          accumulator = new CrossMomentsAccumulator(x.shape[1], y.shape[1]);
          accumulators.set(request.baseSpace, accumulator);
        }
        accumulator.add(x, y);
      }
    });
    const out = new Map<string, SpaceCorrelation>();
    for (const { request } of layers) {
      const accumulator = accumulators.get(request.baseSpace);
      if (accumulator === undefined) continue;
      out.set(request.baseSpace, {
        ...request,
        baseWidth: accumulator.leftUnits,
        targetWidth: accumulator.rightUnits,
        correlation: accumulator.correlation(),
      });
    }
    return out;
  } finally {
    for (const accumulator of accumulators.values()) accumulator.dispose();
  }
}

/** Recorded activations of one model on one batch, as `[rows, units]`, keyed `layer:stage`. */
type Recorded = Map<string, tf.Tensor2D>;

function splitKey(key: string): [string, ActivationStage] {
  const at = key.lastIndexOf(':');
  return [key.slice(0, at), key.slice(at + 1) as ActivationStage];
}

/**
 * Runs every model on each batch of the data's first examples and hands the recorded activations to `visit`;
 * they are freed after it returns, so only one batch is ever held.
 */
function forEachBatch(
  models: readonly StatisticsModel[],
  data: Dataset,
  options: StatisticsOptions,
  visit: (recorded: Recorded[]) => void,
): void {
  const total = Math.min(options.examples ?? data.count, data.count);
  const batchSize = options.batchSize ?? 256;
  if (total < 1)
    throw new ActivationStatisticsError(`activation statistics: data set '${data.name}' is empty`);
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new ActivationStatisticsError(
      `activation statistics: batch size must be a positive integer, got ${batchSize}`,
    );
  }
  const prepared = models.map((model) => {
    assertStatisticsFamily(model.spec);
    const params = paramsFromTensors(model.tensors);
    return {
      model,
      params: params as ParamMap,
      settings: resolveForwardSettings(model.spec, model.config),
      shape: modelInputShape(params, model.spec, data),
    };
  });
  try {
    for (let start = 0; start < total; start += batchSize) {
      const count = Math.min(batchSize, total - start);
      const recorded = prepared.map(({ model, params, settings, shape }) => {
        const size = shape.reduce((a, b) => a * b, 1);
        const kept: Recorded = new Map();
        const logits = tf.tidy(() => {
          const input = tf.tensor(
            data.features.subarray(start * size, (start + count) * size),
            [count, ...shape],
            'float32',
          );
          return forwardLogits(params, model.spec, input, {
            settings,
            record: (layer, stage, x) => {
              const rows = x.rank === 2 ? x : tf.reshape(x, [-1, x.shape[x.rank - 1]]);
              kept.set(`${layer}:${stage}`, tf.keep(rows as tf.Tensor2D));
            },
          }).logits;
        });
        logits.dispose();
        return kept;
      });
      try {
        visit(recorded);
      } finally {
        for (const kept of recorded) for (const x of kept.values()) x.dispose();
      }
    }
  } finally {
    for (const { params } of prepared) disposeParams(params);
  }
}
