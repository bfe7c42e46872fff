import type { TensorInfo } from '../io/tensor-source.js';

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

/** The module's tensor for `param`, by full tensor name. */
export function paramName(module: string, param: string): string {
  return module === '' ? param : `${module}.${param}`;
}

/** Parameters of the module that are not among `allowed`, so a deriver can refuse what it does not understand. */
export function unexpectedParams(module: ModuleTensors, allowed: readonly string[]): TensorInfo[] {
  return [...module.params].filter(([param]) => !allowed.includes(param)).map(([, tensor]) => tensor);
}
