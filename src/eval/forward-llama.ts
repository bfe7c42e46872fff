import * as tf from '@tensorflow/tfjs-core';
import type { ParamMap } from './forward-layers.js';
import {
  applyRope,
  causalAttention,
  embed,
  linear,
  rmsNorm,
  ropeTables,
  type SequenceShape,
  transformerActivation,
} from './forward-transformer-layers.js';
import { ropeInverseFrequencies } from './rope-frequencies.js';
import type { TransformerSettings } from './transformer-settings.js';
import type { TransformerStructure } from './transformer-structure.js';

/**
 * Hugging Face LlamaForCausalLM (and Mistral, and Qwen2's q/k/v biases, which `linear` adds when present):
 * token embedding, pre-RMSNorm blocks of causal grouped-query attention with RoPE on q and k, and a SwiGLU MLP
 * `down(act(gate x) · up x)`, a final RMSNorm. `tokens` is `[batch·length]` int32, batch-major; returns the
 * final hidden states `[batch·length, width]`.
 */
export function llamaHidden(
  params: ParamMap,
  structure: TransformerStructure,
  settings: TransformerSettings,
  tokens: tf.Tensor1D,
  shape: SequenceShape,
  mask: (group: number) => tf.Tensor2D,
): tf.Tensor2D {
  const { headDim, normEps } = settings;
  const tables = ropeTables(
    shape.length,
    ropeInverseFrequencies(headDim, settings.ropeTheta, settings.ropeScaling),
  );
  let x = embed(params, `${structure.tokenEmbedding}.weight`, tokens);
  for (const { prefix, attention } of structure.blocks) {
    const normed = rmsNorm(params, x, `${prefix}.input_layernorm`, normEps);
    const q = applyRope(linear(params, normed, `${attention}.q_proj`), shape, headDim, tables);
    const k = applyRope(linear(params, normed, `${attention}.k_proj`), shape, headDim, tables);
    const v = linear(params, normed, `${attention}.v_proj`);
    const names = { query: `${attention}.q_proj.weight`, key: `${attention}.k_proj.weight` };
    const attended = causalAttention(q, k, v, shape, headDim, names, mask);
    x = tf.add(x, linear(params, attended, `${attention}.o_proj`));
    const inner = rmsNorm(params, x, `${prefix}.post_attention_layernorm`, normEps);
    const gate = transformerActivation(linear(params, inner, `${prefix}.mlp.gate_proj`), settings.activation);
    const up = linear(params, inner, `${prefix}.mlp.up_proj`);
    x = tf.add(x, linear(params, tf.mul(gate, up), `${prefix}.mlp.down_proj`));
  }
  return rmsNorm(params, x, structure.finalNorm, normEps);
}
