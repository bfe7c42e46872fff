import { SpecError } from '../errors.js';
import type { TensorInfo } from '../io/tensor-source.js';
import type { ArchitectureSpec } from './architecture-spec.js';
import { addConvChain, asNormModule, type NormModule } from './conv-layers.js';
import { addDenseChain, hiddenSpace } from './dense-chain.js';
import type { FamilyTemplate } from './family-template.js';
import type { ModelConfig } from './model-config.js';
import { asWeightModule, groupByModule, type WeightModule } from './module-names.js';
import { compareNatural } from './natural-sort.js';
import { SpecBuilder } from './spec-builder.js';

/**
 * A VGG-style network: convolutions in a chain (`features.N` or `convN`), each optionally followed by a
 * BatchNorm (`features.N+1` or `bnN`), then a dense head (`classifier.N`, `fcN`) reading the flattened
 * channels. `input` (fixed, image channels) → one free space per convolution and per hidden dense layer,
 * named after it → `output` (fixed).
 */
export function deriveCnnSpec(
  template: FamilyTemplate,
  tensors: readonly TensorInfo[],
  config?: ModelConfig,
): ArchitectureSpec {
  const builder = new SpecBuilder(template, tensors);
  const convs: WeightModule[] = [];
  const denses: WeightModule[] = [];
  const norms: NormModule[] = [];
  for (const module of groupByModule(tensors).values()) {
    const conv = asWeightModule(builder, module, 4);
    const dense = conv === undefined ? asWeightModule(builder, module, 2) : undefined;
    const norm = conv === undefined && dense === undefined ? asNormModule(module) : undefined;
    if (conv !== undefined) convs.push(conv);
    else if (dense !== undefined) denses.push(dense);
    else if (norm !== undefined) norms.push(norm);
    else
      throw builder.unplaced([...module.params.values()][0], 'not a convolution, BatchNorm or dense layer');
  }
  if (convs.length === 0)
    throw new SpecError('a VGG-style CNN needs at least one convolution (a 4-D weight)');
  denses.sort((a, b) => compareNatural(a.name, b.name));
  const input = builder.space('input', 'fixed', 'input');
  const last = (conv: string): string =>
    denses.length === 0 ? builder.space('output', 'fixed', 'output') : hiddenSpace(builder, conv, 'channels');
  const { space, weight } = addConvChain(builder, { convs, norms }, input, last, true);
  addDenseChain(builder, denses, {
    space,
    channels: { count: weight.shape[0], writtenBy: `tensor '${weight.name}' axis 0` },
  });
  builder.addAttributes(template.attributes, config);
  return builder.build();
}
