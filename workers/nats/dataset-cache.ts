import type { Dataset } from '../../src/data/dataset.js';
import { loadDataset } from '../../src/data/load-dataset.js';
import { ByteLruCache } from '../../src/store/byte-lru-cache.js';
import type { FloatTensor } from '../../src/tensor/tensor.js';
import type { DataBatch, EvaluationBatch, TokenBatch } from './task-messages.js';
import { tokenSequencesDataset } from './token-sequences.js';

/**
 * Data batches a worker loaded, by source, layout and range, with features and labels in shared memory so every
 * thread reads the same copy; bounded in bytes (the ranking's probes load a batch per example count). Sources are
 * read by the worker itself (its --data-dir, MAL_DATA_DIR, or a path every worker can see), so tasks never carry
 * examples. A language model's token sequences are the exception: only the dispatcher has the base's tokenizer,
 * so they come from the tensor store by hash.
 */
export class DatasetCache {
  private readonly batches: ByteLruCache<Dataset>;

  constructor(
    private readonly dataDir: string | undefined,
    /** Most bytes of features and labels kept; the least recently used batches go first. */
    private readonly maxBytes: number,
    /** Token sequences by hash, refused before fetching when their data would exceed `maxBytes`. */
    private readonly fetchTensor: (hash: string, maxBytes: number) => Promise<FloatTensor>,
  ) {
    this.batches = new ByteLruCache(maxBytes, datasetBytes);
  }

  get(batch: EvaluationBatch): Promise<Dataset> {
    if ('text' in batch) {
      const { tokens, tokenizer, vocabulary } = batch.text;
      const key = JSON.stringify([
        'token range',
        tokens,
        tokenizer,
        vocabulary,
        batch.name,
        batch.start,
        batch.end,
      ]);
      return this.batches.get(key, () => this.loadTokens(batch));
    }
    const key = JSON.stringify([batch.source, batch.layout, batch.start, batch.end]);
    return this.batches.get(key, () => this.load(batch));
  }

  /** Bytes of the batches held now. */
  get heldBytes(): number {
    return this.batches.heldBytes;
  }

  private async load(batch: DataBatch): Promise<Dataset> {
    // Loading up to `end` and dropping the first `start` gives the same examples as the embedded engine's
    // `limit` when start is 0, which is what keeps the numbers equal.
    const full = await loadDataset(batch.source, {
      layout: batch.layout,
      dataDir: this.dataDir,
      limit: batch.end ?? undefined,
    });
    const size = full.exampleShape.reduce((a, b) => a * b, 1);
    const start = Math.min(batch.start, full.count);
    const count = full.count - start;
    const features = new Float32Array(new SharedArrayBuffer(count * size * 4));
    features.set(full.features.subarray(start * size));
    const labels = new Int32Array(new SharedArrayBuffer(count * 4));
    labels.set(full.labels.subarray(start));
    return { ...full, count, features, labels };
  }

  /**
   * A range of the sequences, read from all of them (fetched, checked and copied into shared memory once, and kept
   * here like any batch): the ranking's probes ask for several ranges of the same text. The fetched tensor is not
   * kept, so it counts against the data budget (`--data-cache-mb`) only.
   */
  private async loadTokens(batch: TokenBatch): Promise<Dataset> {
    const { text, name } = batch;
    const key = JSON.stringify(['tokens', text.tokens, text.tokenizer, text.vocabulary, name]);
    const all = await this.batches.get(key, async () => {
      const tokens = await this.fetchTensor(text.tokens, this.maxBytes);
      const checked = tokenSequencesDataset(name, tokens, text, `${name} (token sequences ${text.tokens})`);
      const features = new Float32Array(new SharedArrayBuffer(checked.features.byteLength));
      features.set(checked.features);
      const labels = new Int32Array(new SharedArrayBuffer(checked.labels.byteLength));
      return { ...checked, features, labels };
    });
    const [size] = all.exampleShape;
    const start = Math.min(batch.start, all.count);
    const end = Math.max(start, Math.min(batch.end ?? all.count, all.count));
    // Views of the shared buffers: a range costs no copy (and is counted again, which only errs on the safe side).
    return {
      ...all,
      count: end - start,
      features: all.features.subarray(start * size, end * size),
      labels: all.labels.subarray(start, end),
    };
  }
}

export function datasetBytes(data: Dataset): number {
  return data.features.byteLength + data.labels.byteLength;
}
