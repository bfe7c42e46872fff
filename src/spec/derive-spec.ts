import { SpecError } from '../errors.js';
import type { TensorInfo } from '../io/tensor-source.js';
import type { ArchitectureFamily, ArchitectureSpec } from './architecture-spec.js';
import { deriveChainSpec } from './derive-chain-spec.js';
import { deriveTransformerSpec } from './derive-transformer-spec.js';
import { FAMILY_TEMPLATES } from './families.js';
import { configNames, detects, type FamilyTemplate } from './family-template.js';
import type { ModelConfig } from './model-config.js';
import { quantisationScales, withQuantisationScales } from './quantisation-scales.js';

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
  if (options.family === 'custom') {
    throw new SpecError(
      "a 'custom' architecture has no derivation; write a spec file and pass it with --spec",
    );
  }
  // The scales of FP8 weights are no part of any family's layout; they travel with their weights.
  const scales = quantisationScales(tensors);
  const placed = tensors.filter((t) => !scales.has(t.name));
  const template = chooseTemplate(options.family ?? detectFamily(placed), options.config);
  const spec =
    template.kind === 'transformer'
      ? deriveTransformerSpec(template, placed, options.config)
      : deriveChainSpec(template, placed, options.config);
  return withQuantisationScales(spec, tensors, scales);
}

/** The template of a family: the one config.json names (`model_type`, `architectures`), else the first. */
export function chooseTemplate(family: ArchitectureFamily, config?: ModelConfig): FamilyTemplate {
  const candidates = FAMILY_TEMPLATES.filter((template) => template.family === family);
  return candidates.find((template) => configNames(template, config)) ?? candidates[0];
}

/**
 * The family a model's tensor names point to: the first template whose marking name the model has
 * (transformer and ResNet names are distinctive); otherwise any 4-D weight makes a CNN and matrices with vectors
 * make an MLP. A tensor of rank above 4 fits none.
 */
export function detectFamily(tensors: readonly TensorInfo[]): Exclude<ArchitectureFamily, 'custom'> {
  const byName = FAMILY_TEMPLATES.find((template) =>
    tensors.some((tensor) => detects(template, tensor.name)),
  );
  if (byName !== undefined) return byName.family;
  const oddRank = tensors.find((tensor) => tensor.shape.length > 4 || tensor.shape.length === 3);
  if (oddRank !== undefined) {
    throw new SpecError(
      `cannot tell the architecture family: tensor '${oddRank.name}' has shape [${oddRank.shape.join(', ')}], which ` +
        'no known family (mlp, cnn, resnet, gpt2, llama) uses; write a spec file and pass it with --spec',
    );
  }
  return tensors.some((tensor) => tensor.shape.length === 4) ? 'cnn' : 'mlp';
}
