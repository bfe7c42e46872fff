import * as tf from '@tensorflow/tfjs-core';
import { type ParamMap, requireParam } from './forward-layers.js';
import {
  causalAttention,
  conv1d,
  embed,
  layerNorm,
  type SequenceShape,
  transformerActivation,
} from './forward-transformer-layers.js';
import type { TransformerSettings } from './transformer-settings.js';
import type { TransformerStructure } from './transformer-structure.js';

/**
 * Hugging Face GPT2LMHeadModel: token plus learned position embeddings, pre-LayerNorm blocks of causal
 * attention (Conv1D `c_attn` giving q|k|v in three equal parts, each heads of `headDim`) and an MLP
 * (`c_fc`, GELU, `c_proj`), a final LayerNorm, then the head (`lm_head`, or the token embedding when tied).
 * `tokens` is `[batch·length]` int32, batch-major; returns `[batch·length, vocab]`.
 */
export function gpt2Hidden(
  params: ParamMap,
  structure: TransformerStructure,
  settings: TransformerSettings,
  tokens: tf.Tensor1D,
  shape: SequenceShape,
  mask: (group: number) => tf.Tensor2D,
): tf.Tensor2D {
  let x = embed(params, `${structure.tokenEmbedding}.weight`, tokens);
  if (structure.positionEmbedding !== undefined) {
    const table = requireParam(params, `${structure.positionEmbedding}.weight`, 2);
    const positions = tf.slice(table, [0, 0], [shape.length, -1]);
    x = tf.reshape(tf.add(tf.reshape(x, [shape.batch, shape.length, -1]), positions), [
      shape.batch * shape.length,
      -1,
    ]);
  }
  for (const [layer, { prefix, attention }] of structure.blocks.entries()) {
    const qkv = conv1d(
      params,
      layerNorm(params, x, `${prefix}.ln_1`, settings.normEps),
      `${attention}.c_attn`,
    );
    const width = qkv.shape[1] / 3;
    const [q, k, v] = tf.split(qkv, [width, width, width], 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
    const names = { query: `${attention}.c_attn.weight`, key: `${attention}.c_attn.weight` };
    const { byHeadDim, byInverseLayer } = settings.attentionScaling;
    const scale = (byHeadDim ? 1 / Math.sqrt(settings.headDim) : 1) / (byInverseLayer ? layer + 1 : 1);
    const attended = causalAttention(q, k, v, shape, settings.headDim, names, mask, scale);
    x = tf.add(x, conv1d(params, attended, `${attention}.c_proj`));
    const inner = conv1d(
      params,
      layerNorm(params, x, `${prefix}.ln_2`, settings.normEps),
      `${prefix}.mlp.c_fc`,
    );
    x = tf.add(x, conv1d(params, transformerActivation(inner, settings.activation), `${prefix}.mlp.c_proj`));
  }
  return layerNorm(params, x, structure.finalNorm, settings.normEps);
}
