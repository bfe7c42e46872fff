import { SpecError } from '../errors.js';
import type { TensorInfo } from '../io/tensor-source.js';
import type { ArchitectureSpec } from './architecture-spec.js';
import {
  addConv,
  addNorm,
  asConvModule,
  asNormModule,
  type ConvModule,
  findNormedConv,
  type NormModule,
} from './conv-layers.js';
import { addDenseChain, asDenseModule, type DenseModule, hiddenSpace } from './dense-chain.js';
import { configAttribute, type ModelConfig } from './model-config.js';
import { groupByModule } from './module-names.js';
import { compareNatural } from './natural-sort.js';
import { SpecBuilder, unplacedTensorError } from './spec-builder.js';

/**
 * A VGG-style network: convolutions in a chain (`features.N` or `convN`), each optionally followed by a
 * BatchNorm (`features.N+1` or `bnN`), then a dense head (`classifier.N`, `fcN`) reading the flattened
 * channels. `input` (fixed, image channels) → one free space per convolution and per hidden dense layer,
 * named after it → `output` (fixed).
 */
export function deriveCnnSpec(tensors: readonly TensorInfo[], config?: ModelConfig): ArchitectureSpec {
  const builder = new SpecBuilder('cnn', tensors);
  const convs: ConvModule[] = [];
  const denses: DenseModule[] = [];
  const norms: NormModule[] = [];
  for (const module of groupByModule(tensors).values()) {
    const conv = asConvModule(builder, module);
    const dense = conv === undefined ? asDenseModule(builder, module) : undefined;
    const norm = conv === undefined && dense === undefined ? asNormModule(module) : undefined;
    if (conv !== undefined) convs.push(conv);
    else if (dense !== undefined) denses.push(dense);
    else if (norm !== undefined) norms.push(norm);
    else
      throw unplacedTensorError(
        'cnn',
        [...module.params.values()][0],
        'not a convolution, BatchNorm or dense layer',
      );
  }
  if (convs.length === 0)
    throw new SpecError('a VGG-style CNN needs at least one convolution (a 4-D weight)');
  convs.sort((a, b) => compareNatural(a.name, b.name));
  denses.sort((a, b) => compareNatural(a.name, b.name));
  const normOfConv = pairNormsWithConvs(norms, convs);

  let space = builder.space('input', 'fixed', 'input');
  convs.forEach((conv, index) => {
    const previous = convs[index - 1];
    if (previous !== undefined && previous.weight.shape[0] !== conv.weight.shape[1]) {
      throw new SpecError(
        `tensor '${conv.weight.name}' axis 1 has length ${conv.weight.shape[1]} but the previous convolution's ` +
          `tensor '${previous.weight.name}' axis 0 has length ${previous.weight.shape[0]}; consecutive convolutions must agree`,
      );
    }
    const writesOutput = index === convs.length - 1 && denses.length === 0;
    const output = writesOutput
      ? builder.space('output', 'fixed', 'output')
      : hiddenSpace(builder, conv.name, 'channels');
    addConv(builder, conv, space, output);
    const norm = normOfConv.get(conv.name);
    if (norm !== undefined) addNorm(builder, norm, output);
    space = output;
  });
  const lastConv = convs[convs.length - 1].weight;
  addDenseChain(builder, denses, {
    space,
    channels: { count: lastConv.shape[0], writtenBy: `tensor '${lastConv.name}' axis 0` },
  });
  builder.attribute('activation', configAttribute(config, ['activation', 'hidden_act']) ?? 'relu');
  return builder.build();
}

function pairNormsWithConvs(
  norms: readonly NormModule[],
  convs: readonly ConvModule[],
): Map<string, NormModule> {
  const convNames = new Set(convs.map((conv) => conv.name));
  const normOfConv = new Map<string, NormModule>();
  for (const norm of norms) {
    const firstTensor = [...norm.module.params.values()][0];
    const conv = findNormedConv(norm.name, convNames);
    if (conv === undefined)
      throw unplacedTensorError('cnn', firstTensor, 'no convolution found for this norm to follow');
    const other = normOfConv.get(conv);
    if (other !== undefined) {
      throw unplacedTensorError(
        'cnn',
        firstTensor,
        `convolution '${conv}' is already followed by norm '${other.name}'`,
      );
    }
    normOfConv.set(conv, norm);
  }
  return normOfConv;
}
