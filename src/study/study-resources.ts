import { stat } from 'node:fs/promises';
import type { ModelInMemory } from '../assembly/candidate-alignment.js';
import { type BackendPreference, initBackend } from '../compute/backend.js';
import type { Dataset, ExampleLayout } from '../data/dataset.js';
import { loadDataset } from '../data/load-dataset.js';
import { loadTextDataset } from '../data/text-dataset.js';
import { BYTE_TOKENIZER, findTokenizerFile, loadTokenizerJson } from '../data/text-tokenizer.js';
import { MalError } from '../errors.js';
import type { ForwardConfig } from '../eval/forward.js';
import { forwardConfigOf } from '../eval/model-evaluation.js';
import { loadModel, readFiniteFloatTensors } from '../model/load-model.js';
import { hashModel } from '../zoo/model-hash.js';
import type { StudyCellModel } from './study-cell.js';

/** A study model whose weights no longer hash to the sha256 its cells are addressed by. */
export class StudyModelChangedError extends MalError {
  override readonly name = 'StudyModelChangedError';
}

/** A model of a cell in memory, with the forward settings its evaluation needs. */
export interface StudyModel extends ModelInMemory {
  readonly config: ForwardConfig;
}

/**
 * What measuring cells needs besides the cell: its models and data in memory. A worker keeps one for all the
 * cells it measures, so each model and data set is read once (within the cache's bounds).
 */
export interface StudyCellResources {
  /** Starts the compute backend (idempotent). */
  prepare(): Promise<void>;
  model(model: StudyCellModel): Promise<StudyModel>;
  dataset(source: string, layout: ExampleLayout, limit: number): Promise<Dataset>;
  /** Token sequences of `sequenceLength` for a language model (its folder's tokenizer.json, else bytes). */
  text(model: StudyCellModel, source: string, sequenceLength: number, limit: number): Promise<Dataset>;
}

export interface StudyResourceOptions {
  readonly backend?: BackendPreference;
  /** Folder of the Fashion-MNIST IDX files (else MAL_DATA_DIR or the package). */
  readonly dataDir?: string;
  /** Most models kept in memory (least recently used leaves first); default 64. */
  readonly maxModels?: number;
  /** Most data sets kept in memory; default 8. */
  readonly maxDatasets?: number;
}

/** A least-recently-used map of promises: concurrent asks for one key share one load, failures are not kept. */
class BoundedCache<T> {
  private readonly entries = new Map<string, Promise<T>>();
  constructor(private readonly limit: number) {}

  get(key: string, load: () => Promise<T>): Promise<T> {
    const found = this.entries.get(key);
    if (found !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, found);
      return found;
    }
    const loading = load();
    this.entries.set(key, loading);
    loading.catch(() => {
      if (this.entries.get(key) === loading) this.entries.delete(key);
    });
    while (this.entries.size > this.limit) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    return loading;
  }
}

/** Resources read from the file system, cached in memory. */
export function createStudyResources(options: StudyResourceOptions = {}): StudyCellResources {
  const models = new BoundedCache<StudyModel>(options.maxModels ?? 64);
  const datasets = new BoundedCache<Dataset>(options.maxDatasets ?? 8);
  return {
    prepare: async () => {
      await initBackend(options.backend);
    },
    model: (model) =>
      models.get(`${model.sha256}\u0000${model.path}\u0000${model.specPath ?? ''}`, () =>
        readStudyModel(model),
      ),
    dataset: (source, layout, limit) =>
      datasets.get(`${source}\u0000${layout}\u0000${limit}`, () =>
        loadDataset(source, { layout, limit, dataDir: options.dataDir }),
      ),
    text: async (model, source, sequenceLength, limit) => {
      const isFolder = (await stat(model.path)).isDirectory();
      const tokenizerFile = await findTokenizerFile(model.path, isFolder);
      return datasets.get(
        `${source}\u0000text:${sequenceLength}:${tokenizerFile ?? 'bytes'}\u0000${limit}`,
        async () =>
          loadTextDataset(source, {
            sequenceLength,
            limit,
            tokenizer: tokenizerFile === undefined ? BYTE_TOKENIZER : await loadTokenizerJson(tokenizerFile),
          }),
      );
    },
  };
}

async function readStudyModel(model: StudyCellModel): Promise<StudyModel> {
  // The row is filed under the sha256: measuring other weights under it would poison every later run.
  const { sha256 } = await hashModel(model.path);
  if (sha256 !== model.sha256) {
    throw new StudyModelChangedError(
      `${model.path}: model '${model.id}' hashes to ${sha256}, but the study expects ${model.sha256}; the file changed since the zoo recorded it (re-add it to the zoo, or retrain)`,
    );
  }
  const loaded = await loadModel(
    model.path,
    model.specPath === undefined ? {} : { specFile: model.specPath },
  );
  try {
    return {
      spec: loaded.spec,
      widths: loaded.widths,
      tensors: await readFiniteFloatTensors(loaded, loaded.source.tensorNames()),
      config: forwardConfigOf(loaded),
    };
  } finally {
    await loaded.source.close();
  }
}
