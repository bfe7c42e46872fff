import type { TensorInfo } from '../io/tensor-source.js';
import type { ArchitectureSpec } from './architecture-spec.js';
import { addDenseChain } from './dense-chain.js';
import type { FamilyTemplate } from './family-template.js';
import type { ModelConfig } from './model-config.js';
import { asWeightModule, groupByModule } from './module-names.js';
import { compareNatural } from './natural-sort.js';
import { SpecBuilder } from './spec-builder.js';

/**
 * A chain of nn.Linear layers (`fc1`, `layers.0`, `net.0`, ...), ordered by natural sort of their module
 * names: `input` (fixed) → one free space per hidden layer, named after it → `output` (fixed).
 */
export function deriveMlpSpec(
  template: FamilyTemplate,
  tensors: readonly TensorInfo[],
  config?: ModelConfig,
): ArchitectureSpec {
  const builder = new SpecBuilder(template, tensors);
  const modules = [...groupByModule(tensors).values()].map((module) => {
    const dense = asWeightModule(builder, module, 2);
    if (dense !== undefined) return dense;
    const first = module.params.get('weight') ?? [...module.params.values()][0];
    throw builder.unplaced(first, 'an MLP holds only dense layers (weight [out, in], bias [out])');
  });
  modules.sort((a, b) => compareNatural(a.name, b.name));
  addDenseChain(builder, modules, { space: builder.space('input', 'fixed', 'input') });
  builder.addAttributes(template.attributes, config);
  return builder.build();
}
