import type { Dataset } from '../../src/data/dataset.js';
import { ByteLruCache } from '../../src/store/byte-lru-cache.js';
import type { FloatTensor } from '../../src/tensor/tensor.js';
import { datasetBytes } from './dataset-cache.js';
import { BadTaskError } from './nats-errors.js';

/**
 * The unlabelled examples alignment tasks measure activations on, by the hash of their tensor: fetched once per
 * worker and copied into shared memory, so every thread reads the same copy (as evaluation data sets are). A
 * run's every alignment task names the same examples, so all but the first find them here.
 */
export class ExamplesCache {
  private readonly entries: ByteLruCache<Dataset>;

  constructor(
    /** Refuses a tensor whose data would exceed `maxBytes` before fetching it. */
    private readonly fetchTensor: (hash: string, maxBytes: number) => Promise<FloatTensor>,
    /** Most bytes of examples kept; a run measures on one set, so this holds the runs a worker serves at once. */
    maxBytes: number,
  ) {
    this.entries = new ByteLruCache(maxBytes, datasetBytes);
  }

  get(hash: string, maxBytes: number): Promise<Dataset> {
    return this.entries.get(hash, () => this.load(hash, maxBytes));
  }

  private async load(hash: string, maxBytes: number): Promise<Dataset> {
    const tensor = await this.fetchTensor(hash, maxBytes);
    if (tensor.shape.length < 2 || tensor.shape[0] < 1) {
      throw new BadTaskError(
        `statistics examples ${hash}: shape [${tensor.shape.join(', ')}] is not [count ≥ 1, ...example shape]`,
      );
    }
    if (tensor.data.byteLength > maxBytes) {
      throw new BadTaskError(
        `statistics examples ${hash}: ${tensor.data.byteLength} bytes, more than this worker's tensor memory (--cache-mb, ${maxBytes} bytes)`,
      );
    }
    // Non-finite inputs make every correlation NaN, and the assignment then silently returns the identity maps.
    const bad = tensor.data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      throw new BadTaskError(
        `statistics examples ${hash}: value ${bad} is ${tensor.data[bad]}; examples must be finite`,
      );
    }
    const features = new Float32Array(new SharedArrayBuffer(tensor.data.byteLength));
    features.set(tensor.data);
    const count = tensor.shape[0];
    return {
      name: `statistics examples ${hash.slice(0, 12)}`,
      count,
      exampleShape: tensor.shape.slice(1),
      features,
      // Statistics never read labels; a data set carries them all the same.
      labels: new Int32Array(new SharedArrayBuffer(count * 4)),
      classes: 1,
    };
  }
}
