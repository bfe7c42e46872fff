import type { Dataset, ExampleLayout } from '../data/dataset.js';
import { type LoadDatasetOptions, loadDataset } from '../data/load-dataset.js';
import { SpecError } from '../errors.js';
import type { LoadedModel } from '../model/load-model.js';
import type { ArchitectureSpec } from '../spec/architecture-spec.js';
import type { FloatTensor } from '../tensor/tensor.js';
import { disposeParams, type Evaluation, evaluateModel, paramsFromTensors } from './evaluate.js';
import type { ForwardConfig } from './forward.js';

/** How a family's models read examples: dense stacks take flat vectors, convolutions take images. */
export function exampleLayoutFor(spec: ArchitectureSpec): ExampleLayout {
  switch (spec.family) {
    case 'mlp':
      return 'flat';
    case 'cnn':
    case 'resnet':
      return 'image';
    default:
      throw new SpecError(
        `evaluation runs MLPs, CNNs and ResNets; this model's family is '${spec.family}' (forward passes for it are not implemented)`,
      );
  }
}

/** Facts a forward pass needs beyond shapes (strides, pooling, activation), from the file's metadata and config.json. */
export function forwardConfigOf(model: LoadedModel): ForwardConfig {
  const config: Record<string, string | number> = { ...model.source.metadata };
  for (const [key, value] of Object.entries(model.config ?? {})) {
    if (typeof value === 'string' || typeof value === 'number') config[key] = value;
  }
  return config;
}

/** Loads the data set a model needs, in the layout its family reads. */
export function loadDatasetFor(
  spec: ArchitectureSpec,
  source: string,
  options: Omit<LoadDatasetOptions, 'layout'>,
): Promise<Dataset> {
  return loadDataset(source, { ...options, layout: exampleLayoutFor(spec) });
}

/** Uploads tensors, evaluates, frees: one model, one data set. */
export async function evaluateTensors(
  tensors: ReadonlyMap<string, FloatTensor>,
  spec: ArchitectureSpec,
  dataset: Dataset,
  config: ForwardConfig,
  batchSize?: number,
): Promise<Evaluation> {
  const params = paramsFromTensors(tensors);
  try {
    return await evaluateModel(params, spec, dataset, { config, batchSize });
  } finally {
    disposeParams(params);
  }
}
