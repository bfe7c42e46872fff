import type { TensorInfo } from '../io/tensor-source.js';
import type { ArchitectureSpec } from './architecture-spec.js';
import { addDenseChain, asDenseModule, type DenseModule } from './dense-chain.js';
import { configAttribute, type ModelConfig } from './model-config.js';
import { groupByModule } from './module-names.js';
import { compareNatural } from './natural-sort.js';
import { SpecBuilder, unplacedTensorError } from './spec-builder.js';

/**
 * A chain of nn.Linear layers (`fc1`, `layers.0`, `net.0`, ...), ordered by natural sort of their module
 * names: `input` (fixed) → one free space per hidden layer, named after it → `output` (fixed).
 */
export function deriveMlpSpec(tensors: readonly TensorInfo[], config?: ModelConfig): ArchitectureSpec {
  const builder = new SpecBuilder('mlp', tensors);
  const modules: DenseModule[] = [];
  for (const module of groupByModule(tensors).values()) {
    const dense = asDenseModule(builder, module);
    if (dense === undefined) {
      const first = module.params.get('weight') ?? [...module.params.values()][0];
      throw unplacedTensorError(
        'mlp',
        first,
        'an MLP holds only dense layers (weight [out, in], bias [out])',
      );
    }
    modules.push(dense);
  }
  modules.sort((a, b) => compareNatural(a.name, b.name));
  addDenseChain(builder, modules, { space: builder.space('input', 'fixed', 'input') });
  builder.attribute(
    'activation',
    configAttribute(config, ['activation', 'hidden_act', 'activation_function']) ?? 'relu',
  );
  return builder.build();
}
