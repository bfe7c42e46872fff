/**
 * Forward passes of the model families that can be evaluated: MLP, VGG-style CNN, ResNet. Tensors come in
 * PyTorch names and layouts; the spec says which layers exist and in what order, the tensor shapes give every
 * width, and the few facts shapes cannot give (strides, pooling, eps, activation) come from the model config
 * or the spec's attributes (see forward-settings.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { SpecError } from '../errors.js';
import type { ArchitectureSpec } from '../spec/architecture-spec.js';
import { cnnLogits } from './forward-cnn.js';
import type { ActivationRecorder, BatchStatistics, ForwardContext, ParamMap } from './forward-layers.js';
import { mlpLogits } from './forward-mlp.js';
import { resnetLogits } from './forward-resnet.js';
import { type ForwardConfig, type ForwardSettings, resolveForwardSettings } from './forward-settings.js';

export type { ActivationRecorder, ActivationStage, BatchStatistics, ParamMap } from './forward-layers.js';
export type { ForwardConfig, ForwardSettings } from './forward-settings.js';

export interface ForwardOptions {
  /** BatchNorm uses batch statistics and reports them in the result. Default false (running statistics). */
  readonly training?: boolean;
  /** Model config (strides, pool_kernel, batch_norm_eps, activation, …); overrides the spec's attributes. */
  readonly config?: ForwardConfig;
  /** Already resolved settings; when given, `config` is not read. Saves re-parsing per batch. */
  readonly settings?: ForwardSettings;
  /** Observes hidden activations (MLP and CNN passes); see ActivationRecorder. */
  readonly record?: ActivationRecorder;
}

export interface ForwardResult {
  /** `[N, classes]`. The caller disposes it. */
  readonly logits: tf.Tensor2D;
  /** Training mode only: per BatchNorm module name, the batch statistics it normalized with. Caller disposes. */
  readonly batchStatistics: ReadonlyMap<string, BatchStatistics>;
}

export const FORWARD_FAMILIES = ['mlp', 'cnn', 'resnet'] as const;

/**
 * Logits of `input`: `[N, features]` for an MLP, `[N, C, H, W]` (NCHW, as PyTorch) for a CNN or ResNet.
 * Intermediate tensors are freed; the parameters are not touched. Inside a gradient closure it records the
 * operations like any other tfjs code, so the trainer differentiates through it.
 */
export function forwardLogits(
  params: ParamMap,
  spec: ArchitectureSpec,
  input: tf.Tensor,
  options: ForwardOptions = {},
): ForwardResult {
  const settings = options.settings ?? resolveForwardSettings(spec, options.config);
  const training = options.training ?? false;
  const counts = new Map<string, number>();
  const kept = tf.tidy(() => {
    const context: ForwardContext = {
      params,
      settings,
      training,
      statistics: new Map(),
      ...(options.record === undefined ? {} : { record: options.record }),
    };
    const logits = familyLogits(context, spec, input);
    const statistics: Record<string, { mean: tf.Tensor1D; variance: tf.Tensor1D }> = {};
    for (const [name, { mean, variance, count }] of context.statistics) {
      statistics[name] = { mean, variance };
      counts.set(name, count);
    }
    return { logits, statistics };
  });
  const batchStatistics = new Map<string, BatchStatistics>();
  for (const [name, { mean, variance }] of Object.entries(kept.statistics)) {
    batchStatistics.set(name, { mean, variance, count: counts.get(name) ?? 0 });
  }
  return { logits: kept.logits, batchStatistics };
}

function familyLogits(context: ForwardContext, spec: ArchitectureSpec, input: tf.Tensor): tf.Tensor2D {
  switch (spec.family) {
    case 'mlp':
      return mlpLogits(context, spec, input);
    case 'cnn':
      return cnnLogits(context, spec, input);
    case 'resnet':
      return resnetLogits(context, spec, input);
    default:
      throw new SpecError(
        `forward pass: the '${spec.family}' family cannot be evaluated here (supported: ${FORWARD_FAMILIES.join(', ')})`,
      );
  }
}

/** Disposes what a forward pass returned. */
export function disposeForwardResult(result: ForwardResult): void {
  result.logits.dispose();
  for (const { mean, variance } of result.batchStatistics.values()) {
    mean.dispose();
    variance.dispose();
  }
}
