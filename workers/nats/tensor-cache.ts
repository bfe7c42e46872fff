import type { FloatTensor } from '../../src/tensor/tensor.js';
import type { NatsTensorStore } from './tensor-store.js';

/**
 * A worker's tensors by hash, fetched once per process: the λ grid of a step and the candidates of one zoo model
 * share most tensors, so most tasks find theirs here. Concurrent requests for one hash share one fetch. The
 * least recently used are dropped past `maxBytes`.
 */
export class TensorCache {
  private readonly entries = new Map<string, { promise: Promise<FloatTensor>; bytes: number }>();
  private bytes = 0;
  fetched = 0;
  hits = 0;

  constructor(
    private readonly store: NatsTensorStore,
    private readonly maxBytes: number,
  ) {}

  get(hash: string): Promise<FloatTensor> {
    const entry = this.entries.get(hash);
    if (entry !== undefined) {
      this.hits++;
      // Re-insert: Map order is the recency order.
      this.entries.delete(hash);
      this.entries.set(hash, entry);
      return entry.promise;
    }
    this.fetched++;
    const created = { promise: this.store.getTensor(hash), bytes: 0 };
    this.entries.set(hash, created);
    created.promise.then(
      (t) => {
        if (this.entries.get(hash) !== created) return;
        created.bytes = t.data.byteLength;
        this.bytes += created.bytes;
        this.evict();
      },
      // A failed fetch is not cached: a later task may find the tensor, or fail with its own error.
      () => {
        if (this.entries.get(hash) === created) this.entries.delete(hash);
      },
    );
    return created.promise;
  }

  private evict(): void {
    for (const [hash, entry] of this.entries) {
      if (this.bytes <= this.maxBytes || this.entries.size <= 1) break;
      if (entry.bytes === 0) continue;
      this.entries.delete(hash);
      this.bytes -= entry.bytes;
    }
  }
}
