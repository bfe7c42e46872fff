import * as tf from '@tensorflow/tfjs-core';
import { SpecError } from '../errors.js';
import type { ArchitectureSpec } from '../spec/architecture-spec.js';
import { activate, dense, type ForwardContext } from './forward-layers.js';

/**
 * An MLP: the spec's dense layers in network order, the hidden activation between them, none after the last.
 * Input `[N, features]`; any trailing shape is flattened row-major, as `x.view(N, -1)` would.
 */
export function mlpLogits(context: ForwardContext, spec: ArchitectureSpec, input: tf.Tensor): tf.Tensor2D {
  const layers = spec.layers.filter((layer) => layer.kind === 'dense');
  if (layers.length === 0) throw new SpecError('forward pass: the MLP spec has no dense layers');
  const unexpected = spec.layers.find((layer) => layer.kind !== 'dense');
  if (unexpected !== undefined) {
    throw new SpecError(`forward pass: MLP layer '${unexpected.name}' is a ${unexpected.kind}, not dense`);
  }
  let x = (input.rank === 2 ? input : tf.reshape(input, [input.shape[0], -1])) as tf.Tensor2D;
  layers.forEach((layer, index) => {
    x = dense(context, x, layer.name);
    if (index < layers.length - 1) {
      context.record?.(layer.name, 'pre', x);
      x = activate(x, context.settings.activation);
      context.record?.(layer.name, 'post', x);
    }
  });
  return x;
}
