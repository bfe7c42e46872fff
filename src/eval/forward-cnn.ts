import * as tf from '@tensorflow/tfjs-core';
import { SpecError } from '../errors.js';
import type { ArchitectureSpec } from '../spec/architecture-spec.js';
import {
  activate,
  batchNorm,
  conv2d,
  dense,
  type ForwardContext,
  flattenChannelMajor,
  toNhwc,
} from './forward-layers.js';

/**
 * A VGG-style CNN as the model factory and the trainer build it: blocks of conv (stride 1, padding (k−1)/2),
 * optional BatchNorm, activation, max-pool of `poolKernel` (floor mode); then the map flattened channel-major
 * and the dense head with the activation between its layers. Input `[N, C, H, W]`.
 */
export function cnnLogits(context: ForwardContext, spec: ArchitectureSpec, input: tf.Tensor): tf.Tensor2D {
  const { activation, poolKernel } = context.settings;
  let map = toNhwc(input);
  let blockOpen = false;
  let blockConv = '';
  const closeBlock = (): void => {
    if (!blockOpen) return;
    map = activate(map, activation);
    context.record?.(blockConv, 'post', map);
    if (poolKernel > 1) map = tf.maxPool(map, poolKernel, poolKernel, 'valid');
    blockOpen = false;
  };
  let flat: tf.Tensor2D | undefined;
  const denseLayers = spec.layers.filter((layer) => layer.kind === 'dense');
  let denseIndex = 0;
  for (const layer of spec.layers) {
    if (layer.kind === 'conv') {
      if (flat !== undefined) throw new SpecError(`forward pass: conv '${layer.name}' follows a dense layer`);
      closeBlock();
      map = conv2d(context, map, layer.name, 1);
      context.record?.(layer.name, 'pre', map);
      blockOpen = true;
      blockConv = layer.name;
    } else if (layer.kind === 'batchnorm') {
      if (!blockOpen) throw new SpecError(`forward pass: BatchNorm '${layer.name}' follows no convolution`);
      map = batchNorm(context, map, layer.name);
    } else if (layer.kind === 'dense') {
      if (flat === undefined) {
        closeBlock();
        flat = flattenChannelMajor(map);
      }
      flat = dense(context, flat, layer.name);
      denseIndex++;
      if (denseIndex < denseLayers.length) {
        context.record?.(layer.name, 'pre', flat);
        flat = activate(flat, activation);
        context.record?.(layer.name, 'post', flat);
      }
    } else {
      throw new SpecError(`forward pass: CNN layer '${layer.name}' of kind ${layer.kind} is not supported`);
    }
  }
  if (flat === undefined) {
    // No dense head: the last block's flattened map is the output, as in the reference.
    closeBlock();
    flat = flattenChannelMajor(map);
  }
  return flat;
}
