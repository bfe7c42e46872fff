import { mkdir, rm, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { type BackendPreference, describeBackend, initBackend } from '../compute/backend.js';
import type { Dataset } from '../data/dataset.js';
import { loadTextDataset } from '../data/text-dataset.js';
import { parseTextSource } from '../data/text-source.js';
import { BYTE_TOKENIZER } from '../data/text-tokenizer.js';
import { evaluateTensors } from '../eval/model-evaluation.js';
import { writeFileAtomic } from '../io/atomic-file.js';
import { writeSafetensorsTensors } from '../io/safetensors-writer.js';
import { deriveSpec } from '../spec/derive-spec.js';
import { trainTransformer } from '../train/train-transformer.js';
import { type TransformerArchitecture, transformerLayout } from '../train/transformer-layout.js';
import { dataShortName } from './default-model-id.js';
import { readableJson } from './readable-json.js';
import {
  defaultEvalSources,
  type StorageDtype,
  toStorage,
  type ZooTrainHooks,
  type ZooTrainResult,
} from './train-zoo-model.js';
import { ZooError } from './zoo-errors.js';
import {
  assertZooIdFree,
  describeZooEntry,
  publishEntry,
  stagingPath,
  ZOO_MODELS_FOLDER,
  type Zoo,
} from './zoo-folder.js';
import type { JsonValue, ZooMetric } from './zoo-manifest.js';
import { zooFactsToMetadata } from './zoo-model-metadata.js';
import { removeDeadTemporaries } from './zoo-temporaries.js';

/** The text a transformer trains on when --data is not given. */
export const DEFAULT_TEXT_SOURCE = 'fortunes:en:train';

export interface ZooTransformerTrainOptions {
  readonly architecture: TransformerArchitecture;
  readonly width: number;
  readonly heads: number;
  /** LLaMA: key/value heads; default `heads`. */
  readonly kvHeads?: number;
  readonly layers: number;
  readonly context: number;
  readonly intermediate?: number;
  /** A text source (parseTextSource); default fortunes:en:train. Read as UTF-8 bytes. */
  readonly data?: string;
  /** Train on the first n sequences only. */
  readonly limit?: number;
  readonly epochs: number;
  readonly seed: number;
  readonly batchSize?: number;
  readonly learningRate?: number;
  /** Sources to measure on; undefined means the `:test` split of a `:train` source, else none. */
  readonly evalSources?: readonly string[];
  readonly evalLimit?: number;
  readonly id?: string;
  readonly dtype: StorageDtype;
  readonly backend: BackendPreference;
}

/** `gpt2-w64-h4-l2-c64-s1-fortunesen`, `llama-w48-h4-kv2-l2-c64-s2-fortunesde-n500`: what tells models apart. */
export function transformerModelId(options: ZooTransformerTrainOptions): string {
  const data = options.data ?? DEFAULT_TEXT_SOURCE;
  const fortunes = /^fortunes:([a-z]+)/.exec(data);
  const parts = [options.architecture, `w${options.width}`, `h${options.heads}`];
  if (options.kvHeads !== undefined && options.kvHeads !== options.heads) parts.push(`kv${options.kvHeads}`);
  parts.push(`l${options.layers}`, `c${options.context}`);
  if (options.intermediate !== undefined) parts.push(`i${options.intermediate}`);
  parts.push(`s${options.seed}`, fortunes === null ? dataShortName(data) : `fortunes${fortunes[1]}`);
  if (options.limit !== undefined) parts.push(`n${options.limit}`);
  return parts.join('-');
}

/**
 * Refuses a shape with broken heads and a data or evaluation source that is not text, without reading data:
 * the command calls it before creating the zoo, so a mistyped option leaves no empty zoo behind.
 */
export function checkZooTransformerOptions(options: ZooTransformerTrainOptions): void {
  transformerLayout({
    architecture: options.architecture,
    vocab: BYTE_TOKENIZER.vocabulary,
    width: options.width,
    heads: options.heads,
    layers: options.layers,
    context: options.context,
    ...(options.kvHeads === undefined ? {} : { kvHeads: options.kvHeads }),
    ...(options.intermediate === undefined ? {} : { intermediate: options.intermediate }),
  });
  const data = options.data ?? DEFAULT_TEXT_SOURCE;
  for (const source of [data, ...(options.evalSources ?? defaultEvalSources(data))]) parseTextSource(source);
}

/** Every option under its command-line name, defaults resolved, so the provenance says how to train it again. */
function provenanceOptions(
  options: ZooTransformerTrainOptions,
  evalSources: readonly string[],
  trainerConfig: Readonly<Record<string, string | number>>,
): Record<string, JsonValue> {
  const recorded: Record<string, JsonValue> = {
    arch: options.architecture,
    width: options.width,
    heads: options.heads,
    layers: options.layers,
    context: options.context,
    data: options.data ?? DEFAULT_TEXT_SOURCE,
    epochs: options.epochs,
    seed: options.seed,
    eval: [...evalSources],
    dtype: options.dtype,
    'batch-size': trainerConfig.batch_size ?? null,
    lr: trainerConfig.learning_rate ?? null,
  };
  if (options.kvHeads !== undefined) recorded['kv-heads'] = options.kvHeads;
  if (options.intermediate !== undefined) recorded.intermediate = options.intermediate;
  if (options.limit !== undefined) recorded.limit = options.limit;
  if (options.evalLimit !== undefined) recorded['eval-limit'] = options.evalLimit;
  return recorded;
}

/**
 * `mal zoo train --arch gpt2|llama`: trains a small transformer on byte tokens, measures it on the evaluation
 * sources as stored, and writes it as a Hugging Face model folder `<zoo>/models/<id>/` (model.safetensors with
 * the config also in its metadata, and config.json), then appends its manifest entry. Metrics are the mean
 * cross-entropy per token (`loss`, its exponential the perplexity) and the next-token accuracy.
 */
export async function trainZooTransformer(
  zooOf: Zoo | (() => Promise<Zoo>),
  options: ZooTransformerTrainOptions,
  hooks: ZooTrainHooks = {},
): Promise<ZooTrainResult> {
  checkZooTransformerOptions(options);
  const id = options.id ?? transformerModelId(options);
  const data = options.data ?? DEFAULT_TEXT_SOURCE;
  const evalSources = options.evalSources ?? defaultEvalSources(data);
  const backend = await initBackend(options.backend);
  hooks.onBackend?.(describeBackend(backend));
  const load = (source: string, limit: number | undefined): Promise<Dataset> => {
    hooks.onStage?.(`loading ${source}`);
    return loadTextDataset(source, {
      tokenizer: BYTE_TOKENIZER,
      sequenceLength: options.context,
      ...(limit === undefined ? {} : { limit }),
    });
  };
  // Evaluation sets are loaded before training so a mistyped --eval fails in seconds, not after the run.
  const dataset = await load(data, options.limit);
  const evalSets: Dataset[] = [];
  for (const source of evalSources) evalSets.push(await load(source, options.evalLimit));
  // Opened (the command creates it) only once the data is read, so a source too short or unreadable leaves no
  // empty zoo behind; still before training, so a taken id fails in seconds.
  const zoo = typeof zooOf === 'function' ? await zooOf() : zooOf;
  assertZooIdFree(zoo, id);
  const relativePath = `${ZOO_MODELS_FOLDER}/${id}`;
  const modelsDir = join(zoo.dir, ZOO_MODELS_FOLDER);
  const folder = join(modelsDir, id);
  await removeDeadTemporaries(zoo.dir, ZOO_MODELS_FOLDER);

  const started = performance.now();
  const trained = await trainTransformer({
    shape: {
      architecture: options.architecture,
      width: options.width,
      heads: options.heads,
      layers: options.layers,
      context: options.context,
      ...(options.kvHeads === undefined ? {} : { kvHeads: options.kvHeads }),
      ...(options.intermediate === undefined ? {} : { intermediate: options.intermediate }),
    },
    dataset,
    epochs: options.epochs,
    seed: options.seed,
    ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
    ...(options.learningRate === undefined ? {} : { learningRate: options.learningRate }),
    ...(hooks.onEpoch === undefined ? {} : { onEpoch: hooks.onEpoch }),
    ...(hooks.onBatch === undefined ? {} : { onBatch: hooks.onBatch }),
  });
  const trainSeconds = (performance.now() - started) / 1000;

  const { raw, stored } = toStorage(trained.tensors, options.dtype);
  const config: Record<string, string> = {};
  for (const [key, value] of Object.entries(trained.config)) config[key] = String(value);
  const infos = [...raw].map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape }));
  const spec = deriveSpec(infos, { config: trained.config });
  const metrics: Record<string, ZooMetric> = {};
  for (const [i, set] of evalSets.entries()) {
    hooks.onStage?.(`evaluating on ${evalSources[i]}`);
    const result = await evaluateTensors(stored, spec, set, trained.config);
    metrics[evalSources[i]] = { loss: result.loss, accuracy: result.accuracy, examples: result.count };
  }
  const provenance = provenanceOptions(options, evalSources, trained.config);
  const metadata = {
    ...config,
    ...zooFactsToMetadata({
      id,
      architecture: options.architecture,
      dataset: data,
      seed: options.seed,
      metrics,
    }),
    zoo_train_options: JSON.stringify(provenance),
  };
  hooks.onStage?.(`writing ${relativePath}`);
  // Written into a staging folder and renamed into place, so a run killed while writing leaves no half model
  // under the final name: the next run removes the dead run's staging folder, or adopts a published copy with
  // the same bytes (publishEntry).
  await mkdir(modelsDir, { recursive: true });
  const staging = stagingPath(modelsDir, id);
  await mkdir(staging);
  try {
    await writeSafetensorsTensors(join(staging, 'model.safetensors'), raw, metadata);
    const json: Record<string, JsonValue> = {
      architectures: [options.architecture === 'gpt2' ? 'GPT2LMHeadModel' : 'LlamaForCausalLM'],
      ...trained.config,
      tie_word_embeddings: true,
      torch_dtype: options.dtype === 'f16' ? 'float16' : 'float32',
    };
    await writeFileAtomic(join(staging, 'config.json'), `${readableJson(json)}\n`);
    const described = await describeZooEntry(zoo, relative(zoo.dir, staging), {
      id,
      dataset: data,
      seed: options.seed,
      metrics,
      provenance: {
        kind: 'trained',
        command: 'mal zoo train',
        options: provenance,
        at: new Date().toISOString(),
        seconds: Math.round(trainSeconds * 10) / 10,
        backend: describeBackend(backend).replace(/^backend: /, ''),
      },
    });
    if (!described.readable) {
      throw new ZooError(
        `${folder}: the trained model cannot be read back (${described.reason}); this is a bug`,
      );
    }
    const entry = { ...described, path: relativePath };
    await publishEntry(zoo, entry, { staging, payload: staging, target: folder });
    const bytes = (await stat(join(folder, 'model.safetensors'))).size;
    return { entry, bytes, trainSeconds };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
