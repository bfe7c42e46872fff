import { SpecError } from '../errors.js';
import type { TensorInfo } from '../io/tensor-source.js';
import type { ArchitectureSpec } from './architecture-spec.js';
import {
  addConvChain,
  addDenseChain,
  asModuleTensors,
  asWeightModule,
  groupByModule,
  hiddenSpace,
  type ModuleTensors,
  type WeightModule,
} from './chain-layers.js';
import type { ChainTemplate } from './family-template.js';
import type { ModelConfig } from './model-config.js';
import { compareNatural } from './natural-sort.js';
import { SpecBuilder } from './spec-builder.js';

/** The spec of an MLP, a VGG-style CNN or a ResNet: layers found from module names and tensor shapes. */
export function deriveChainSpec(
  template: ChainTemplate,
  tensors: readonly TensorInfo[],
  config?: ModelConfig,
): ArchitectureSpec {
  const builder = new SpecBuilder(template, tensors);
  const add = { mlp: addMlp, cnn: addCnn, resnet: addResnet }[template.kind];
  add(builder, groupByModule(tensors));
  builder.addAttributes(template.attributes, config);
  return builder.build();
}

/**
 * A chain of nn.Linear layers (`fc1`, `layers.0`, `net.0`, ...), ordered by natural sort of their module
 * names: `input` (fixed) → one free space per hidden layer, named after it → `output` (fixed).
 */
function addMlp(builder: SpecBuilder, modules: readonly ModuleTensors[]): void {
  const denses = modules.map((module) => {
    const dense = asWeightModule(builder, module, 2);
    if (dense !== undefined) return dense;
    const first = module.params.get('weight') ?? [...module.params.values()][0];
    throw builder.unplaced(first, 'an MLP holds only dense layers (weight [out, in], bias [out])');
  });
  addDenseChain(builder, sortByName(denses), { space: builder.space('input', 'fixed', 'input') });
}

/**
 * A VGG-style network: convolutions in a chain (`features.N` or `convN`), each optionally followed by a
 * BatchNorm (`features.N+1` or `bnN`), then a dense head (`classifier.N`, `fcN`) reading the flattened
 * channels. `input` (fixed, image channels) → one free space per convolution and per hidden dense layer,
 * named after it → `output` (fixed).
 */
function addCnn(builder: SpecBuilder, modules: readonly ModuleTensors[]): void {
  const convs: WeightModule[] = [];
  const denses: WeightModule[] = [];
  const norms: ModuleTensors[] = [];
  for (const module of modules) {
    const conv = asWeightModule(builder, module, 4);
    const dense = conv === undefined ? asWeightModule(builder, module, 2) : undefined;
    const norm = conv === undefined && dense === undefined ? asModuleTensors(module) : undefined;
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
}

const BLOCK_MODULE = /^(layer\d+\.\d+)\.(.+)$/;
const SHORTCUT_MODULE = /^(?:downsample|shortcut)\.(\d+)$/;
const BLOCK_CONV = /^conv\d+$/;

/** Convolutions and norms of one module list: the stem, or one residual block's main path. */
interface ConvGroup {
  convs: WeightModule[];
  norms: ModuleTensors[];
}

interface ResidualBlock {
  readonly name: string;
  readonly main: ConvGroup;
  readonly shortcut: ConvGroup;
}

/**
 * A torchvision-style ResNet (BasicBlock or Bottleneck; `downsample.N` or CIFAR `shortcut.N` projections).
 *
 * Residual spaces are named `residual.stem` (written by the stem) and `residual.<block>` (a block with a
 * projection shortcut writes a new one, through both its last convolution and its shortcut); a block without a
 * projection writes back into the residual space it reads. Each inner convolution of a block writes a free space
 * named after it (`layer1.0.conv1`).
 */
function addResnet(builder: SpecBuilder, modules: readonly ModuleTensors[]): void {
  const group = (): ConvGroup => ({ convs: [], norms: [] });
  const stem = group();
  const head: WeightModule[] = [];
  const blocks = new Map<string, ResidualBlock>();

  for (const module of modules) {
    const blockMatch = BLOCK_MODULE.exec(module.name);
    if (blockMatch === null) {
      const dense = asWeightModule(builder, module, 2);
      if (dense !== undefined) head.push(dense);
      else collectConvOrNorm(builder, module, stem, 'not a stem convolution, BatchNorm or dense head');
      continue;
    }
    const [, blockName, inner] = blockMatch;
    const block = blocks.get(blockName) ?? { name: blockName, main: group(), shortcut: group() };
    blocks.set(blockName, block);
    if (SHORTCUT_MODULE.test(inner)) {
      collectConvOrNorm(builder, module, block.shortcut, 'not a shortcut convolution or BatchNorm');
    } else if (BLOCK_CONV.test(inner) || /^bn\d+$/.test(inner)) {
      collectConvOrNorm(builder, module, block.main, 'not a block convolution or BatchNorm');
    } else {
      throw builder.unplaced([...module.params.values()][0], `block '${blockName}' has no module '${inner}'`);
    }
  }
  if (stem.convs.length === 0) throw new SpecError('a ResNet needs a stem convolution (conv1.weight)');

  const residualSpace = (name: string) => (): string => builder.space(name, 'free', 'residual');
  let residual = builder.space('input', 'fixed', 'input');
  let residualWriter = addConvChain(builder, stem, residual, residualSpace('residual.stem')).weight;
  residual = 'residual.stem';

  for (const block of [...blocks.values()].sort((a, b) => compareNatural(a.name, b.name))) {
    if (block.main.convs.length === 0) {
      throw builder.unplaced(firstTensorOf(block), `block '${block.name}' has no convolutions`);
    }
    const lastConv = sortByName(block.main.convs).at(-1)!;
    let output = residual;
    if (block.shortcut.convs.length > 0) {
      output = `residual.${block.name}`;
    } else if (block.shortcut.norms.length > 0) {
      throw builder.unplaced(
        firstTensorOf(block),
        `block '${block.name}' has a shortcut norm without a convolution`,
      );
    } else if (lastConv.weight.shape[0] !== residualWriter.shape[0]) {
      throw new SpecError(
        `block '${block.name}' changes the residual width from ${residualWriter.shape[0]} (tensor '${residualWriter.name}' axis 0) ` +
          `to ${lastConv.weight.shape[0]} (tensor '${lastConv.weight.name}' axis 0) without a downsample or shortcut ` +
          'convolution; a parameter-free (padding) shortcut fixes where units go, so write a spec file and pass it with --spec',
      );
    }
    const blockOutputWriter = addConvChain(builder, block.main, residual, residualSpace(output)).weight;
    if (block.shortcut.convs.length > 0)
      addConvChain(builder, block.shortcut, residual, residualSpace(output));
    residual = output;
    residualWriter = blockOutputWriter;
  }

  addDenseChain(builder, sortByName(head), {
    space: residual,
    channels: { count: residualWriter.shape[0], writtenBy: `tensor '${residualWriter.name}' axis 0` },
  });
}

function collectConvOrNorm(
  builder: SpecBuilder,
  module: ModuleTensors,
  group: ConvGroup,
  reason: string,
): void {
  const conv = asWeightModule(builder, module, 4);
  const norm = conv === undefined ? asModuleTensors(module) : undefined;
  if (conv !== undefined) group.convs.push(conv);
  else if (norm !== undefined) group.norms.push(norm);
  else throw builder.unplaced([...module.params.values()][0], reason);
}

function sortByName<T extends { readonly name: string }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => compareNatural(a.name, b.name));
}

function firstTensorOf(block: ResidualBlock): TensorInfo {
  const modules = [...block.main.convs, ...block.shortcut.convs];
  if (modules.length > 0) return modules[0].weight;
  return [...[...block.main.norms, ...block.shortcut.norms][0].params.values()][0];
}
