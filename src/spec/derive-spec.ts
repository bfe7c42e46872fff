import { SpecError } from '../errors.js';
import type { TensorInfo } from '../io/tensor-source.js';
import type { ArchitectureFamily, ArchitectureSpec } from './architecture-spec.js';
import { deriveCnnSpec } from './derive-cnn-spec.js';
import { deriveGpt2Spec } from './derive-gpt2-spec.js';
import { deriveLlamaSpec } from './derive-llama-spec.js';
import { deriveMlpSpec } from './derive-mlp-spec.js';
import { deriveResnetSpec } from './derive-resnet-spec.js';
import type { ModelConfig } from './model-config.js';

export interface DeriveSpecOptions {
  /** Parsed Hugging Face config.json, or the safetensors metadata: head counts, activation, epsilons. */
  readonly config?: ModelConfig;
  /** Skips detection; the family's deriver still refuses tensors it cannot place. */
  readonly family?: ArchitectureFamily;
}

/** Derives the architecture spec of a model of a known family from its tensor names and shapes. */
export function deriveSpec(
  tensors: readonly TensorInfo[],
  options: DeriveSpecOptions = {},
): ArchitectureSpec {
  if (tensors.length === 0) throw new SpecError('cannot derive a spec for a model without tensors');
  const family = options.family ?? detectFamily(tensors);
  switch (family) {
    case 'mlp':
      return deriveMlpSpec(tensors, options.config);
    case 'cnn':
      return deriveCnnSpec(tensors, options.config);
    case 'resnet':
      return deriveResnetSpec(tensors, options.config);
    case 'gpt2':
      return deriveGpt2Spec(tensors, options.config);
    case 'llama':
      return deriveLlamaSpec(tensors, options.config);
    case 'custom':
      throw new SpecError(
        "a 'custom' architecture has no derivation; write a spec file and pass it with --spec",
      );
  }
}

/**
 * The family a model's tensor names point to. Transformer and ResNet names are distinctive; otherwise any 4-D
 * weight makes a CNN and matrices with vectors make an MLP. A tensor of rank above 4 fits none.
 */
export function detectFamily(tensors: readonly TensorInfo[]): ArchitectureFamily {
  const names = tensors.map((tensor) => tensor.name);
  if (names.some((name) => /(^|\.)layers\.\d+\.self_attn\.q_proj\.weight$/.test(name))) return 'llama';
  if (names.some((name) => /(^|\.)h\.\d+\.attn\.c_attn\.weight$/.test(name))) return 'gpt2';
  if (names.some((name) => /^layer\d+\.\d+\.conv\d+\.weight$/.test(name))) return 'resnet';
  const oddRank = tensors.find((tensor) => tensor.shape.length > 4 || tensor.shape.length === 3);
  if (oddRank !== undefined) {
    throw new SpecError(
      `cannot tell the architecture family: tensor '${oddRank.name}' has shape [${oddRank.shape.join(', ')}], which ` +
        'no known family (mlp, cnn, resnet, gpt2, llama) uses; write a spec file and pass it with --spec',
    );
  }
  return tensors.some((tensor) => tensor.shape.length === 4) ? 'cnn' : 'mlp';
}
