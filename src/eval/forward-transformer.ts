/**
 * Forward passes of decoder-only transformers (GPT-2, LLaMA and the families that derive their specs): a full
 * causal pass over whole sequences, no key/value cache. Tensors come in Hugging Face names and layouts; the spec
 * says which modules exist, the shapes give every width and head count, and the few facts shapes cannot give
 * (head width, epsilons, RoPE theta, context) come from the model config or the spec's attributes.
 */
import * as tf from '@tensorflow/tfjs-core';
import { SpecError } from '../errors.js';
import type { ArchitectureSpec } from '../spec/architecture-spec.js';
import { gpt2Hidden } from './forward-gpt2.js';
import { type ParamMap, requireParam } from './forward-layers.js';
import { llamaHidden } from './forward-llama.js';
import type { ForwardConfig } from './forward-settings.js';
import { causalMask, linear, type SequenceShape } from './forward-transformer-layers.js';
import { resolveTransformerSettings, type TransformerSettings } from './transformer-settings.js';
import { type TransformerStructure, transformerStructure } from './transformer-structure.js';

export interface TransformerForwardOptions {
  /** Model config (head_dim, layer_norm_epsilon, rms_norm_eps, rope_theta, n_positions, …). */
  readonly config?: ForwardConfig;
  /** Already resolved settings and structure; saves re-reading them per batch. */
  readonly settings?: TransformerSettings;
  readonly structure?: TransformerStructure;
}

/** Settings and module names for `params`: the context is capped by a learned position table's rows. */
export function prepareTransformer(
  params: ParamMap,
  spec: ArchitectureSpec,
  config?: ForwardConfig,
): { settings: TransformerSettings; structure: TransformerStructure } {
  const structure = transformerStructure(spec);
  const positions =
    structure.positionEmbedding === undefined
      ? undefined
      : requireParam(params, `${structure.positionEmbedding}.weight`, 2).shape[0];
  return { settings: resolveTransformerSettings(spec, config, positions), structure };
}

/**
 * Next-token logits `[batch, length, vocab]` of int32 token ids `[batch, length]`: position t sees tokens
 * 0..t only. Intermediate tensors are freed; the parameters are not touched; the caller disposes the result.
 */
export function transformerLogits(
  params: ParamMap,
  spec: ArchitectureSpec,
  tokens: tf.Tensor2D,
  options: TransformerForwardOptions = {},
): tf.Tensor3D {
  const prepared =
    options.settings !== undefined && options.structure !== undefined
      ? { settings: options.settings, structure: options.structure }
      : prepareTransformer(params, spec, options.config);
  const { settings, structure } = prepared;
  const [batch, length] = tokens.shape;
  if (length < 1) throw new SpecError('forward pass: the token sequences are empty');
  if (length > settings.context) {
    throw new SpecError(
      `forward pass: sequences of ${length} tokens are longer than the model's context of ${settings.context} (from ${settings.contextSource})`,
    );
  }
  return tf.tidy(() => {
    const shape: SequenceShape = { batch, length };
    const masks = new Map<number, tf.Tensor2D>();
    const mask = (group: number): tf.Tensor2D => {
      let found = masks.get(group);
      if (found === undefined) {
        found = causalMask(length, group, settings.slidingWindow);
        masks.set(group, found);
      }
      return found;
    };
    const flat = tf.reshape(tf.cast(tokens, 'int32'), [batch * length]) as tf.Tensor1D;
    const hidden =
      settings.family === 'gpt2'
        ? gpt2Hidden(params, structure, settings, flat, shape, mask)
        : llamaHidden(params, structure, settings, flat, shape, mask);
    const logits =
      structure.head === undefined
        ? tf.matMul(
            hidden,
            tf.transpose(requireParam(params, `${structure.tokenEmbedding}.weight`, 2)) as tf.Tensor2D,
          )
        : linear(params, hidden, structure.head);
    return tf.reshape(logits, [batch, length, -1]) as tf.Tensor3D;
  });
}
