import type { Dataset } from '../../src/data/dataset.js';
import { loadDataset } from '../../src/data/load-dataset.js';
import { ByteLruCache } from '../../src/store/byte-lru-cache.js';
import type { DataBatch } from './task-messages.js';

/**
 * Data batches a worker loaded, by source, layout and range, with features and labels in shared memory so every
 * thread reads the same copy; bounded in bytes (the ranking's probes load a batch per example count). Sources are read by the worker itself (its --data-dir, MAL_DATA_DIR, or a path
 * every worker can see), so tasks never carry examples.
 */
export class DatasetCache {
  private readonly batches: ByteLruCache<Dataset>;

  constructor(
    private readonly dataDir: string | undefined,
    /** Most bytes of features and labels kept; the least recently used batches go first. */
    maxBytes: number,
  ) {
    this.batches = new ByteLruCache(maxBytes, datasetBytes);
  }

  get(batch: DataBatch): Promise<Dataset> {
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
}

export function datasetBytes(data: Dataset): number {
  return data.features.byteLength + data.labels.byteLength;
}
