import { ByteLruCache } from '../../src/store/byte-lru-cache.js';
import type { FloatTensor } from '../../src/tensor/tensor.js';
import type { NatsTensorStore } from './tensor-store.js';

/**
 * A worker's tensors by hash, fetched once per process: the λ grid of a step and the candidates of one zoo model
 * share most tensors, so most tasks find theirs here. The least recently used are dropped past `maxBytes`.
 */
export class TensorCache {
  private readonly cache: ByteLruCache<FloatTensor>;

  constructor(
    private readonly store: NatsTensorStore,
    private readonly maxBytes: number,
  ) {
    this.cache = new ByteLruCache(maxBytes, (t) => t.data.byteLength);
  }

  get fetched(): number {
    return this.cache.loads;
  }

  get hits(): number {
    return this.cache.hits;
  }

  get(hash: string): Promise<FloatTensor> {
    // A tensor the cache could never hold is refused from its size, before it is downloaded.
    return this.cache.get(hash, () => this.store.getTensor(hash, this.maxBytes));
  }
}
