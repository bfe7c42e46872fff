import type { TensorInfo } from '../io/tensor-source.js';
import type { SpecBuilder } from './spec-builder.js';

/** The tensors of one PyTorch module, keyed by parameter name (`weight`, `bias`, `running_mean`, ...). */
export interface ModuleTensors {
  readonly name: string;
  readonly params: ReadonlyMap<string, TensorInfo>;
}

/** Splits `features.0.weight` into module `features.0` and parameter `weight`. */
export function splitTensorName(name: string): { module: string; param: string } {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? { module: '', param: name } : { module: name.slice(0, dot), param: name.slice(dot + 1) };
}

/** Groups tensors by the module that owns them, modules in first-seen order. */
export function groupByModule(tensors: readonly TensorInfo[]): Map<string, ModuleTensors> {
  const params = new Map<string, Map<string, TensorInfo>>();
  for (const tensor of tensors) {
    const { module, param } = splitTensorName(tensor.name);
    let moduleParams = params.get(module);
    if (moduleParams === undefined) {
      moduleParams = new Map();
      params.set(module, moduleParams);
    }
    moduleParams.set(param, tensor);
  }
  return new Map([...params].map(([name, moduleParams]) => [name, { name, params: moduleParams }]));
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
