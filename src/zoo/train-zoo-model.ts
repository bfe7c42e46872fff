import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type BackendPreference, describeBackend, initBackend } from '../compute/backend.js';
import type { Dataset } from '../data/dataset.js';
import { loadDataset } from '../data/load-dataset.js';
import { disposeParams, evaluateModel, paramsFromTensors } from '../eval/evaluate.js';
import { writeSafetensorsTensors } from '../io/safetensors-writer.js';
import { loadModel, readFiniteFloatTensors } from '../model/load-model.js';
import { deriveSpec } from '../spec/derive-spec.js';
import { computeSpaceWidths } from '../spec/space-widths.js';
import { fromFloat32, toFloat32 } from '../tensor/float-conversion.js';
import type { FloatTensor, RawTensor } from '../tensor/tensor.js';
import { trainModel } from '../train/train-model.js';
import { defaultModelId } from './default-model-id.js';
import { hashModel } from './model-hash.js';
import { ZooError } from './zoo-errors.js';
import {
  appendZooEntry,
  assertZooIdFree,
  describeZooEntry,
  trainedModelPath,
  ZOO_MODELS_FOLDER,
  type Zoo,
} from './zoo-folder.js';
import type { JsonValue, ReadableZooEntry, ZooMetric } from './zoo-manifest.js';
import { zooFactsToMetadata } from './zoo-model-metadata.js';

export type StorageDtype = 'f32' | 'f16';

export interface ZooTrainOptions {
  readonly architecture: 'mlp' | 'cnn';
  /** MLP hidden widths, or CNN channels per convolution block. */
  readonly hidden: readonly number[];
  /** A CNN's hidden dense widths after the convolutions. */
  readonly dense?: readonly number[];
  /** Training data source (`fashion-mnist:train`, `mnist:train`, an Arrow file). */
  readonly data: string;
  readonly dataDir?: string;
  readonly classes?: readonly number[];
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
  /** A model to start from instead of the seeded initialization; its tensors must fit the architecture exactly. */
  readonly initFrom?: string;
}

export interface ZooTrainHooks {
  /** The backend line (`backend: wasm (simd)`), once it has started. */
  readonly onBackend?: (line: string) => void;
  /** What is happening between epochs: loading data, evaluating, writing. */
  readonly onStage?: (line: string) => void;
  readonly onBatch?: (done: number, total: number) => void;
  readonly onEpoch?: (e: {
    readonly epoch: number;
    readonly epochs: number;
    readonly loss: number;
    readonly accuracy: number;
    readonly seconds: number;
  }) => void;
}

export interface ZooTrainResult {
  readonly entry: ReadableZooEntry;
  /** Size of the written safetensors file. */
  readonly bytes: number;
  readonly trainSeconds: number;
}

/** `fashion-mnist:train` → [`fashion-mnist:test`]; a source that is not a `:train` split gets no default. */
export function defaultEvalSources(data: string): string[] {
  const match = /^(.+):train$/.exec(data);
  return match === null ? [] : [`${match[1]}:test`];
}

/**
 * Every option the model was trained with, under the command-line names, defaults resolved, so the provenance
 * says how to train it again. The data folder is machine-specific and left out.
 */
function provenanceOptions(
  options: ZooTrainOptions,
  evalSources: readonly string[],
  trainerConfig: Readonly<Record<string, string | number>>,
  init: InitModel | undefined,
): Record<string, JsonValue> {
  const recorded: Record<string, JsonValue> = {
    arch: options.architecture,
    hidden: [...options.hidden],
    data: options.data,
    epochs: options.epochs,
    seed: options.seed,
    eval: [...evalSources],
    dtype: options.dtype,
  };
  if (options.dense !== undefined) recorded.dense = [...options.dense];
  if (options.classes !== undefined) recorded.classes = [...options.classes];
  if (options.limit !== undefined) recorded.limit = options.limit;
  if (options.evalLimit !== undefined) recorded['eval-limit'] = options.evalLimit;
  if (init !== undefined) {
    recorded['init-from'] = init.path;
    recorded['init-from-sha256'] = init.sha256;
  }
  // The trainer reports the batch size and learning rate it used, defaults included.
  const batchSize = options.batchSize ?? trainerConfig.batch_size;
  const learningRate = options.learningRate ?? trainerConfig.learning_rate;
  if (batchSize !== undefined) recorded['batch-size'] = batchSize;
  if (learningRate !== undefined) recorded.lr = learningRate;
  return recorded;
}

interface InitModel {
  readonly path: string;
  /** Content hash of its tensor files, as a zoo records it (model-hash.ts). */
  readonly sha256: string;
  readonly tensors: Map<string, FloatTensor>;
}

/** Reads the model training starts from, every tensor as finite float32, and hashes it for the provenance. */
async function readInitModel(path: string): Promise<InitModel> {
  const model = await loadModel(path);
  try {
    const tensors = await readFiniteFloatTensors(model, model.source.tensorNames());
    return { path, sha256: (await hashModel(path)).sha256, tensors };
  } finally {
    await model.source.close();
  }
}

/** The weights as the file will hold them: rounded to the storage dtype, so metrics describe the stored model. */
export function toStorage(
  tensors: ReadonlyMap<string, FloatTensor>,
  dtype: StorageDtype,
): { raw: Map<string, RawTensor>; stored: Map<string, FloatTensor> } {
  const raw = new Map<string, RawTensor>();
  const stored = new Map<string, FloatTensor>();
  for (const [name, tensor] of tensors) {
    // A BatchNorm's step counter is an integer; float16 holds integers exactly only up to 2048.
    const counter = name.endsWith('num_batches_tracked');
    const bytes = fromFloat32(tensor.data, dtype === 'f16' && !counter ? 'F16' : 'F32', tensor.shape);
    raw.set(name, bytes);
    stored.set(name, { shape: tensor.shape, data: Float32Array.from(toFloat32(bytes)) });
  }
  return { raw, stored };
}

/**
 * `mal zoo train`: trains a model, measures it on the evaluation sources as stored (after rounding to the storage
 * dtype), writes it to `<zoo>/models/<id>.safetensors` with its description in the metadata, and appends its
 * entry to the manifest. The id is checked before training so no time is spent on a model that cannot be added.
 */
export async function trainZooModel(
  zoo: Zoo,
  options: ZooTrainOptions,
  hooks: ZooTrainHooks = {},
): Promise<ZooTrainResult> {
  if (options.initFrom !== undefined) hooks.onStage?.(`reading ${options.initFrom}`);
  const init = options.initFrom === undefined ? undefined : await readInitModel(options.initFrom);
  const id = options.id ?? defaultModelId({ ...options, initFromSha256: init?.sha256 });
  assertZooIdFree(zoo, id);
  const relativePath = trainedModelPath(id);
  const file = join(zoo.dir, relativePath);
  if (
    await stat(file).then(
      () => true,
      () => false,
    )
  ) {
    throw new ZooError(`${file} already exists but no zoo entry names it; move it away or pick another --id`);
  }
  const evalSources = options.evalSources ?? defaultEvalSources(options.data);

  const backend = await initBackend(options.backend);
  hooks.onBackend?.(describeBackend(backend));
  const layout = options.architecture === 'cnn' ? 'image' : 'flat';
  const load = (source: string, limit: number | undefined): Promise<Dataset> => {
    hooks.onStage?.(`loading ${source}`);
    return loadDataset(source, { layout, dataDir: options.dataDir, limit, classes: options.classes });
  };
  // Evaluation sets are loaded before training so a mistyped --eval fails in seconds, not after the run.
  const dataset = await load(options.data, options.limit);
  const evalSets: Dataset[] = [];
  for (const source of evalSources) evalSets.push(await load(source, options.evalLimit));

  const started = performance.now();
  const trained = await trainModel({
    architecture: options.architecture,
    hidden: [...options.hidden],
    dense: options.dense === undefined ? undefined : [...options.dense],
    dataset,
    epochs: options.epochs,
    batchSize: options.batchSize,
    learningRate: options.learningRate,
    seed: options.seed,
    init: init === undefined ? undefined : { tensors: init.tensors, source: init.path },
    onEpoch: hooks.onEpoch,
    onBatch: hooks.onBatch,
  });
  const trainSeconds = (performance.now() - started) / 1000;

  const { raw, stored } = toStorage(trained.tensors, options.dtype);
  const config: Record<string, string> = {};
  for (const [key, value] of Object.entries(trained.config)) config[key] = String(value);
  const infos = [...raw].map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape }));
  const spec = deriveSpec(infos, { config });
  const spaceWidths = computeSpaceWidths(spec, new Map(infos.map((i) => [i.name, i.shape])));
  const widths: Record<string, number> = {};
  for (const space of spec.spaces) widths[space.name] = spaceWidths.get(space.name)!;

  const metrics: Record<string, ZooMetric> = {};
  const params = paramsFromTensors(stored);
  try {
    for (const [i, set] of evalSets.entries()) {
      hooks.onStage?.(`evaluating on ${evalSources[i]}`);
      const result = await evaluateModel(params, spec, set, { config: trained.config });
      metrics[evalSources[i]] = { loss: result.loss, accuracy: result.accuracy, examples: result.count };
    }
  } finally {
    disposeParams(params);
  }

  const classes = options.classes ?? Array.from({ length: dataset.classes }, (_, c) => c);
  const metadata = {
    ...config,
    ...zooFactsToMetadata({
      id,
      architecture: options.architecture,
      dataset: options.data,
      classes,
      seed: options.seed,
      widths,
      metrics,
    }),
    zoo_train_options: JSON.stringify(provenanceOptions(options, evalSources, trained.config, init)),
    ...(init === undefined ? {} : { init_from_sha256: init.sha256 }),
  };
  hooks.onStage?.(`writing ${relativePath}`);
  await mkdir(join(zoo.dir, ZOO_MODELS_FOLDER), { recursive: true });
  await writeSafetensorsTensors(file, raw, metadata);
  try {
    const entry = await describeZooEntry(zoo, relativePath, {
      id,
      dataset: options.data,
      classes,
      seed: options.seed,
      metrics,
      provenance: {
        kind: 'trained',
        command: 'mal zoo train',
        options: provenanceOptions(options, evalSources, trained.config, init),
        at: new Date().toISOString(),
        seconds: Math.round(trainSeconds * 10) / 10,
        backend: describeBackend(backend).replace(/^backend: /, ''),
      },
    });
    if (!entry.readable) {
      throw new ZooError(`${file}: the trained model cannot be read back (${entry.reason}); this is a bug`);
    }
    await appendZooEntry(zoo, entry);
    return { entry, bytes: (await stat(file)).size, trainSeconds };
  } catch (error) {
    await rm(file, { force: true });
    throw error;
  }
}
