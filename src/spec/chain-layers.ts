import { SpecError } from '../errors.js';
import type { TensorInfo } from '../io/tensor-source.js';
import { compareNatural } from './natural-sort.js';
import { axisOf, type SpecBuilder } from './spec-builder.js';

// The layers of models made of chains of PyTorch modules (MLPs, VGG-style CNNs, ResNets), found from module
// names and tensor shapes.

/** The tensors of one PyTorch module, keyed by parameter name (`weight`, `bias`, `running_mean`, ...). */
export interface ModuleTensors {
  readonly name: string;
  readonly params: ReadonlyMap<string, TensorInfo>;
}

/** Groups tensors by the module that owns them (`features.0.weight`: module `features.0`), in first-seen order. */
export function groupByModule(tensors: readonly TensorInfo[]): ModuleTensors[] {
  const modules = new Map<string, Map<string, TensorInfo>>();
  for (const tensor of tensors) {
    const dot = tensor.name.lastIndexOf('.');
    const module = dot < 0 ? '' : tensor.name.slice(0, dot);
    if (!modules.has(module)) modules.set(module, new Map());
    modules.get(module)!.set(tensor.name.slice(dot + 1), tensor);
  }
  return [...modules].map(([name, params]) => ({ name, params }));
}

/** Parameters of the module that are not among `allowed`, so a deriver can refuse what it does not understand. */
export function unexpectedParams(module: ModuleTensors, allowed: readonly string[]): TensorInfo[] {
  return [...module.params].filter(([param]) => !allowed.includes(param)).map(([, tensor]) => tensor);
}

/** A dense layer (`weight [out, in]`) or a convolution (`weight [out, in, kh, kw]`), with an optional `bias [out]`. */
export interface WeightModule {
  readonly name: string;
  readonly weight: TensorInfo;
  readonly bias: TensorInfo | undefined;
}

/** The module as a dense layer (rank 2) or convolution (rank 4), or undefined when its weight has another rank. */
export function asWeightModule(
  builder: SpecBuilder,
  module: ModuleTensors,
  rank: 2 | 4,
): WeightModule | undefined {
  const weight = module.params.get('weight');
  if (weight === undefined || weight.shape.length !== rank) return undefined;
  const [what, whose] = rank === 2 ? ['a dense layer', 'a dense'] : ['a convolution', 'a convolution'];
  const stray = unexpectedParams(module, ['weight', 'bias']);
  if (stray.length > 0) throw builder.unplaced(stray[0], `${what} holds only weight and bias`);
  const bias = module.params.get('bias');
  if (bias !== undefined && bias.shape.length !== 1)
    throw builder.unplaced(bias, `${whose} bias must be a vector`);
  return { name: module.name, weight, bias };
}

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

const NORM_VECTORS = ['weight', 'bias', 'running_mean', 'running_var'];
const NORM_PARAMS = [...NORM_VECTORS, 'num_batches_tracked'];

/** The module as a BatchNorm (or an affine-only norm) when it holds only norm parameters, all vectors but the step counter. */
export function asModuleTensors(module: ModuleTensors): ModuleTensors | undefined {
  if (unexpectedParams(module, NORM_PARAMS).length > 0) return undefined;
  for (const param of NORM_VECTORS) {
    const tensor = module.params.get(param);
    if (tensor !== undefined && tensor.shape.length !== 1) return undefined;
  }
  if (![...module.params.keys()].some((param) => NORM_VECTORS.includes(param))) return undefined;
  return module;
}

function addConv(builder: SpecBuilder, conv: WeightModule, input: string, output: string): void {
  const tensors = [builder.tensor(conv.weight.name, [axisOf(output), axisOf(input), null, null])];
  if (conv.bias !== undefined) tensors.push(builder.tensor(conv.bias.name, [axisOf(output)]));
  builder.layer({ name: conv.name, kind: 'conv', tensors, input, output });
}

/** Norm vectors live in the channel space they normalize; the step counter is copied, never merged. */
function addNorm(builder: SpecBuilder, norm: ModuleTensors, space: string): void {
  const tensors: string[] = [];
  for (const [param, tensor] of norm.params) {
    tensors.push(
      param === 'num_batches_tracked'
        ? builder.buffer(tensor.name)
        : builder.tensor(tensor.name, [axisOf(space)]),
    );
  }
  const hasRunningStats = norm.params.has('running_mean') || norm.params.has('running_var');
  const kind = hasRunningStats ? 'batchnorm' : 'norm';
  builder.layer({ name: norm.name, kind, tensors, input: space, output: space });
}

/**
 * The convolution a norm follows, found from names alone (safetensors files do not keep module order):
 * `bn2` follows `conv2` beside it, and `features.4` follows the nearest convolution before it in the same
 * Sequential (`features.3`, or `features.2` when an activation sits between).
 */
function findNormedConv(normName: string, convNames: ReadonlySet<string>): string | undefined {
  const dot = normName.lastIndexOf('.');
  const parent = dot < 0 ? '' : normName.slice(0, dot + 1);
  const last = normName.slice(dot + 1);
  const numbered = /^(?:bn|norm|batch_?norm)(\d*)$/i.exec(last);
  if (numbered !== null) {
    const conv = `${parent}conv${numbered[1]}`;
    return convNames.has(conv) ? conv : undefined;
  }
  if (!/^\d+$/.test(last)) return undefined;
  const index = Number(last);
  let best: { name: string; index: number } | undefined;
  for (const conv of convNames) {
    if (!conv.startsWith(parent)) continue;
    const rest = conv.slice(parent.length);
    if (!/^\d+$/.test(rest)) continue;
    const convIndex = Number(rest);
    if (convIndex < index && (best === undefined || convIndex > best.index))
      best = { name: conv, index: convIndex };
  }
  return best?.name;
}

/** The norm that follows each convolution (see findNormedConv); refuses a norm that follows none, or a second one. */
function pairNormsWithConvs(
  builder: SpecBuilder,
  norms: readonly ModuleTensors[],
  convs: readonly WeightModule[],
): Map<string, ModuleTensors> {
  const convNames = new Set(convs.map((conv) => conv.name));
  const normOfConv = new Map<string, ModuleTensors>();
  for (const norm of norms) {
    const firstTensor = [...norm.params.values()][0];
    const conv = findNormedConv(norm.name, convNames);
    if (conv === undefined)
      throw builder.unplaced(firstTensor, 'no convolution found for this norm to follow');
    const other = normOfConv.get(conv);
    if (other !== undefined) {
      throw builder.unplaced(
        firstTensor,
        `convolution '${conv}' is already followed by norm '${other.name}'`,
      );
    }
    normOfConv.set(conv, norm);
  }
  return normOfConv;
}

/**
 * Adds convolutions in name order, each followed by its norm. Each writes a free space named after itself but
 * the last, which writes `last(name)`; `checkChain` refuses consecutive convolutions that disagree on a width.
 * Returns the space the chain writes and the weight that writes it.
 */
export function addConvChain(
  builder: SpecBuilder,
  group: { readonly convs: readonly WeightModule[]; readonly norms: readonly ModuleTensors[] },
  input: string,
  last: (conv: string) => string,
  checkChain = false,
): { space: string; weight: TensorInfo } {
  const convs = [...group.convs].sort((a, b) => compareNatural(a.name, b.name));
  const normOfConv = pairNormsWithConvs(builder, group.norms, convs);
  let space = input;
  convs.forEach((conv, index) => {
    const previous = convs[index - 1];
    if (checkChain && previous !== undefined && previous.weight.shape[0] !== conv.weight.shape[1]) {
      throw new SpecError(
        `tensor '${conv.weight.name}' axis 1 has length ${conv.weight.shape[1]} but the previous convolution's ` +
          `tensor '${previous.weight.name}' axis 0 has length ${previous.weight.shape[0]}; consecutive convolutions must agree`,
      );
    }
    const output = index === convs.length - 1 ? last(conv.name) : hiddenSpace(builder, conv.name, 'channels');
    addConv(builder, conv, space, output);
    const norm = normOfConv.get(conv.name);
    if (norm !== undefined) addNorm(builder, norm, output);
    space = output;
  });
  return { space, weight: convs[convs.length - 1].weight };
}
