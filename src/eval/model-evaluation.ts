import { stat } from 'node:fs/promises';
import { DataSourceError } from '../data/data-source-error.js';
import type { Dataset, ExampleLayout } from '../data/dataset.js';
import { type LoadDatasetOptions, loadDataset } from '../data/load-dataset.js';
import { loadTextDataset } from '../data/text-dataset.js';
import { parseTextSource } from '../data/text-source.js';
import {
  BYTE_TOKENIZER,
  findTokenizerFile,
  loadTokenizerJson,
  type TextTokenizer,
} from '../data/text-tokenizer.js';
import { SpecError } from '../errors.js';
import type { LoadedModel } from '../model/load-model.js';
import type { ArchitectureSpec } from '../spec/architecture-spec.js';
import type { FloatTensor } from '../tensor/tensor.js';
import { evaluateCausalLm } from './causal-lm-evaluation.js';
import { disposeParams, type Evaluation, evaluateModel, paramsFromTensors } from './evaluate.js';
import type { ForwardConfig } from './forward.js';
import {
  isTransformerFamily,
  resolveTransformerSettings,
  type TransformerSettings,
} from './transformer-settings.js';
import { transformerStructure } from './transformer-structure.js';

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
        isTransformerFamily(spec.family)
          ? `this path takes labelled examples, and a ${spec.family} model reads token sequences: transformers are evaluated on text by 'mal eval', 'mal lmc', 'mal assemble' and 'mal study', embedded or on the cluster (not yet by calibration or activation statistics)`
          : `evaluation runs MLPs, CNNs, ResNets, GPT-2 and LLaMA; this model's family is '${spec.family}' (forward passes for it are not implemented)`,
      );
  }
}

/** Facts a forward pass needs beyond shapes (strides, pooling, activation), from the file's metadata and config.json. */
export function forwardConfigOf(model: LoadedModel): ForwardConfig {
  const config: Record<string, string | number> = { ...model.source.metadata };
  for (const [key, value] of Object.entries(model.config ?? {})) {
    if (typeof value === 'string' || typeof value === 'number') config[key] = value;
  }
  // Structured and boolean fields a transformer forward reads (or must see to refuse what it does not implement).
  // transformers 5 writes rope_theta and the scaling together as rope_parameters.
  const parameters = model.config?.['rope_parameters'];
  const scaling = model.config?.['rope_scaling'];
  if (isRecord(parameters)) {
    const theta = parameters['rope_theta'];
    const given = config['rope_theta'];
    if (given !== undefined && theta !== undefined && Number(given) !== Number(theta)) {
      throw new SpecError(
        `${model.path}: config.json gives rope_theta ${given} and rope_parameters.rope_theta ${theta}; keep one`,
      );
    }
    if (typeof theta === 'number') config['rope_theta'] = theta;
    if (isRecord(scaling)) {
      throw new SpecError(`${model.path}: config.json has both rope_scaling and rope_parameters; keep one`);
    }
  }
  const rope = isRecord(scaling) ? scaling : parameters;
  if (isRecord(rope)) {
    const kind = rope['rope_type'] ?? rope['type'];
    config['rope_scaling'] = typeof kind === 'string' ? kind : 'with no rope_type';
    for (const [key, value] of Object.entries(rope)) {
      if (typeof value === 'number' || typeof value === 'string') config[`rope_scaling.${key}`] = value;
    }
  }
  const layerTypes = model.config?.['layer_types'];
  if (Array.isArray(layerTypes)) config['layer_types'] = layerTypes.join(',');
  for (const key of ['scale_attn_weights', 'scale_attn_by_inverse_layer_idx', 'use_sliding_window']) {
    const value = model.config?.[key];
    if (typeof value === 'boolean') config[key] = value ? 1 : 0;
  }
  return config;
}

/** How a transformer's text is read: its tokenizer and the sequence length. */
export interface TextReading {
  readonly tokenizer: TextTokenizer;
  readonly sequenceLength: number;
  /** Where the sequence length came from, for the progress line. */
  readonly lengthSource: string;
}

/**
 * The tokenizer (the model's tokenizer.json when it has one, else UTF-8 bytes) and sequence length (the model's
 * context, or `context` when shorter) a transformer's text is read with.
 */
export async function textReadingFor(model: LoadedModel, context?: number): Promise<TextReading> {
  const structure = transformerStructure(model.spec);
  const positionRows =
    structure.positionEmbedding === undefined
      ? undefined
      : model.source.info(`${structure.positionEmbedding}.weight`).shape[0];
  let settings: TransformerSettings;
  try {
    settings = resolveTransformerSettings(model.spec, forwardConfigOf(model), positionRows);
  } catch (error) {
    // Said of the model it is about: a zoo run reads many.
    if (error instanceof SpecError && !error.message.startsWith(model.path)) {
      throw new SpecError(`${model.path}: ${error.message}`);
    }
    throw error;
  }
  const isFolder = (await stat(model.path)).isDirectory();
  const file = await findTokenizerFile(model.path, isFolder);
  const tokenizer = file === undefined ? BYTE_TOKENIZER : await loadTokenizerJson(file);
  if (context !== undefined && context > settings.context) {
    throw new DataSourceError(
      `--context ${context} is longer than the model's context of ${settings.context} (from ${settings.contextSource})`,
    );
  }
  return context === undefined
    ? { tokenizer, sequenceLength: settings.context, lengthSource: settings.contextSource }
    : { tokenizer, sequenceLength: context, lengthSource: '--context' };
}

/**
 * Loads the data a model reads: token sequences from a text source for a transformer (see textReadingFor),
 * labelled examples in its layout for the other families.
 */
export async function loadDatasetForModel(
  model: LoadedModel,
  source: string,
  options: Omit<LoadDatasetOptions, 'layout'> & { readonly context?: number },
): Promise<Dataset> {
  if (!isTransformerFamily(model.spec.family)) return loadDatasetFor(model.spec, source, options);
  const reading = await textReadingFor(model, options.context);
  if (reading.tokenizer === BYTE_TOKENIZER && parseTextSource(source).kind !== 'tokens') {
    // A model whose vocabulary is not bytes (a Hugging Face GPT-2 folder without its tokenizer.json) would read
    // byte values as ids of its own tokens and report a loss that means nothing.
    const embedding = `${transformerStructure(model.spec).tokenEmbedding}.weight`;
    const rows = model.source.info(embedding).shape[0];
    if (rows > BYTE_TOKENIZER.vocabulary) {
      throw new DataSourceError(
        `${model.path}: '${embedding}' has ${rows} rows (a ${rows}-token vocabulary) but no tokenizer.json beside it, so '${source}' would be read as UTF-8 bytes, which are not its tokens; put the model's tokenizer.json beside it, or give tokens:<file.arrow> tokenized for it`,
      );
    }
  }
  return loadTextDataset(source, {
    tokenizer: reading.tokenizer,
    sequenceLength: reading.sequenceLength,
    ...(options.limit === undefined ? {} : { limit: options.limit }),
  });
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
  /** Transformers: called after each batch of sequences with the sequences done and the total. */
  onBatch?: (done: number, total: number) => void,
): Promise<Evaluation> {
  const params = paramsFromTensors(tensors);
  try {
    return isTransformerFamily(spec.family)
      ? await evaluateCausalLm(params, spec, dataset, {
          config,
          batchSize,
          ...(onBatch === undefined ? {} : { onBatch }),
        })
      : await evaluateModel(params, spec, dataset, { config, batchSize });
  } finally {
    disposeParams(params);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
