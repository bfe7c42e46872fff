import type { Dataset } from '../../src/data/dataset.js';
import { loadDataset } from '../../src/data/load-dataset.js';
import type { DataBatch } from './task-messages.js';

/**
 * Data batches a worker loaded, by source, layout and range, with features and labels in shared memory so every
 * thread reads the same copy. Sources are read by the worker itself (its --data-dir, MAL_DATA_DIR, or a path
 * every worker can see), so tasks never carry examples.
 */
export class DatasetCache {
  private readonly batches = new Map<string, Promise<Dataset>>();

  constructor(private readonly dataDir: string | undefined) {}

  get(batch: DataBatch): Promise<Dataset> {
    const key = JSON.stringify([batch.source, batch.layout, batch.start, batch.end]);
    let found = this.batches.get(key);
    if (found === undefined) {
      found = this.load(batch);
      this.batches.set(key, found);
      found.catch(() => this.batches.delete(key));
    }
    return found;
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
