import { SpecError } from '../errors.js';
import type { WeightModule } from './module-names.js';
import { axisOf, type SpecBuilder } from './spec-builder.js';

/** Where a dense chain starts reading: the space, and the tensor axis that last wrote it (for messages). */
export interface ChainInput {
  readonly space: string;
  /**
   * Units of `space`, when a convolution produced it: the first dense layer then reads the flattened C×H×W
   * features, one block of H·W entries per channel. Undefined for a plain input (one entry per unit).
   */
  readonly channels?: { readonly count: number; readonly writtenBy: string };
}

/**
 * Adds dense layers that run one after another, each reading the previous one's output: hidden spaces are
 * free and named after the layer that writes them, the last layer writes the fixed `output` space.
 */
export function addDenseChain(
  builder: SpecBuilder,
  modules: readonly WeightModule[],
  input: ChainInput,
): void {
  let space = input.space;
  let block = 1;
  if (input.channels !== undefined && modules.length > 0) {
    const first = modules[0].weight;
    const features = first.shape[1];
    if (features % input.channels.count !== 0) {
      throw new SpecError(
        `tensor '${first.name}' axis 1 has length ${features}, which is not a whole number of blocks over the ` +
          `${input.channels.count} channels of ${input.channels.writtenBy} (a flattened C×H×W input needs a multiple of C)`,
      );
    }
    block = features / input.channels.count;
  }
  modules.forEach((module, index) => {
    const previous = modules[index - 1];
    if (previous !== undefined && previous.weight.shape[0] !== module.weight.shape[1]) {
      throw new SpecError(
        `tensor '${module.weight.name}' axis 1 has length ${module.weight.shape[1]} but the previous layer's ` +
          `tensor '${previous.weight.name}' axis 0 has length ${previous.weight.shape[0]}; consecutive dense layers must agree`,
      );
    }
    const isLast = index === modules.length - 1;
    const output = isLast
      ? builder.space('output', 'fixed', 'output')
      : hiddenSpace(builder, module.name, 'hidden');
    const tensors = [builder.tensor(module.weight.name, [axisOf(output), axisOf(space, block)])];
    if (module.bias !== undefined) tensors.push(builder.tensor(module.bias.name, [axisOf(output)]));
    builder.layer({ name: module.name, kind: 'dense', tensors, input: space, output });
    space = output;
    block = 1;
  });
}

/**
 * A free space named after the module that writes it. A module named like a reserved space (`input`,
 * `output`, `residual`) gets a suffix so it cannot merge with it.
 */
export function hiddenSpace(builder: SpecBuilder, module: string, role: string): string {
  const reserved = ['input', 'output', 'residual', 'vocab', 'positions'];
  const name = reserved.includes(module) ? `${module}.out` : module;
  return builder.space(name, 'free', role);
}
