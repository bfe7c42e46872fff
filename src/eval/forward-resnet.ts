import * as tf from '@tensorflow/tfjs-core';
import { SpecError } from '../errors.js';
import type { ArchitectureSpec, LayerSpec } from '../spec/architecture-spec.js';
import { activate, batchNorm, conv2d, dense, type ForwardContext, toNhwc } from './forward-layers.js';
import { stageStride } from './forward-settings.js';

const BLOCK_LAYER = /^layer(\d+)\.(\d+)\.(.+)$/;
const SHORTCUT_LAYER = /^(?:downsample|shortcut)\.\d+$/;

interface Block {
  readonly name: string;
  /** 0-based stage (torchvision's `layer1` is stage 0). */
  readonly stage: number;
  readonly index: number;
  readonly main: LayerSpec[];
  readonly shortcut: LayerSpec[];
}

/**
 * A torchvision-style ResNet in eval or training mode. The stem's convolutions (stride `stemStride`, padding
 * (k−1)/2), each with its BatchNorm and activation, then torchvision's 3×3 stride-2 max-pool when `stemPool` is
 * 'max'. Blocks `layerS.B`: the main path's
 * convolutions in order, each with its BatchNorm, the activation between them; the stage stride goes to the
 * first block of the stage, on the first conv whose kernel is wider than 1 (BasicBlock's conv1, Bottleneck's
 * conv2, as torchvision) and on the projection shortcut. Output `act(main + shortcut)`. Global average pool,
 * then the dense head. Input `[N, C, H, W]`.
 */
export function resnetLogits(context: ForwardContext, spec: ArchitectureSpec, input: tf.Tensor): tf.Tensor2D {
  const { activation } = context.settings;
  const { stem, blocks, head } = groupLayers(spec);
  let map = toNhwc(input);
  map = convChain(context, map, stem, context.settings.stemStride, true);
  // torchvision's nn.MaxPool2d(3, 2, 1): tfjs pools over the window's positions inside the map, which is
  // PyTorch's −∞ padding.
  if (context.settings.stemPool === 'max') map = tf.maxPool(map, 3, 2, 1);
  for (const block of blocks) {
    const stride = block.index === 0 ? stageStride(context.settings, block.stage) : 1;
    const main = convChain(context, map, block.main, stride, false);
    const shortcut = block.shortcut.length > 0 ? convChain(context, map, block.shortcut, stride, false) : map;
    if (main.shape.some((size, axis) => size !== shortcut.shape[axis])) {
      throw new SpecError(
        `forward pass: block '${block.name}' gives [${main.shape.join(', ')}] on its main path but ` +
          `[${shortcut.shape.join(', ')}] on its shortcut`,
      );
    }
    map = activate(tf.add(main, shortcut), activation);
  }
  let x = tf.mean(map, [1, 2]) as tf.Tensor2D;
  head.forEach((layer, index) => {
    x = dense(context, x, layer.name);
    if (index < head.length - 1) x = activate(x, activation);
  });
  return x;
}

/**
 * Convolutions each followed by their BatchNorm (if any). The activation goes between convolutions, and after
 * the last one only when `activateLast` (the stem; a block activates after its residual sum).
 */
function convChain(
  context: ForwardContext,
  map: tf.Tensor4D,
  layers: readonly LayerSpec[],
  stride: number,
  activateLast: boolean,
): tf.Tensor4D {
  let strideUsed = stride === 1;
  const convCount = layers.filter((layer) => layer.kind === 'conv').length;
  let convsSeen = 0;
  layers.forEach((layer, position) => {
    if (layer.kind === 'conv') {
      if (convsSeen > 0) map = activate(map, context.settings.activation);
      const kernel = context.params.get(`${layer.name}.weight`)?.shape[2] ?? 1;
      const isLastConv = convsSeen === convCount - 1;
      // The stride sits on the first spatial conv, or on the last conv when all are 1×1 (a projection shortcut).
      const useStride = !strideUsed && (kernel > 1 || isLastConv);
      map = conv2d(context, map, layer.name, useStride ? stride : 1);
      if (useStride) strideUsed = true;
      convsSeen++;
    } else if (layer.kind === 'batchnorm') {
      if (position === 0)
        throw new SpecError(`forward pass: BatchNorm '${layer.name}' follows no convolution`);
      map = batchNorm(context, map, layer.name);
    } else {
      throw new SpecError(
        `forward pass: ResNet layer '${layer.name}' of kind ${layer.kind} is not supported here`,
      );
    }
  });
  if (convCount === 0) throw new SpecError('forward pass: a ResNet stem or block without convolutions');
  if (activateLast) map = activate(map, context.settings.activation);
  return map;
}

function groupLayers(spec: ArchitectureSpec): { stem: LayerSpec[]; blocks: Block[]; head: LayerSpec[] } {
  const stem: LayerSpec[] = [];
  const head: LayerSpec[] = [];
  const blocks = new Map<string, Block>();
  for (const layer of spec.layers) {
    const match = BLOCK_LAYER.exec(layer.name);
    if (match === null) {
      if (layer.kind === 'dense') head.push(layer);
      else if (blocks.size > 0 || head.length > 0) {
        throw new SpecError(
          `forward pass: ResNet layer '${layer.name}' is outside the stem, blocks and head`,
        );
      } else stem.push(layer);
      continue;
    }
    if (head.length > 0)
      throw new SpecError(`forward pass: block layer '${layer.name}' follows the dense head`);
    const [, stage, index, inner] = match;
    const name = `layer${stage}.${index}`;
    let block = blocks.get(name);
    if (block === undefined) {
      block = { name, stage: Number(stage) - 1, index: Number(index), main: [], shortcut: [] };
      blocks.set(name, block);
    }
    (SHORTCUT_LAYER.test(inner) ? block.shortcut : block.main).push(layer);
  }
  if (head.length === 0) throw new SpecError('forward pass: the ResNet has no dense head (fc)');
  return { stem, blocks: [...blocks.values()], head };
}
