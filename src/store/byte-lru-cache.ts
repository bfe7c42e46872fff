/**
 * Values by key, each loaded once (concurrent requests for one key share the load), the least recently used
 * dropped once the values' bytes pass `maxBytes`. A load that fails is not kept, so a later request tries again.
 * The newest value always stays, even alone over the bound: the task that asked for it is about to use it.
 */
export class ByteLruCache<V> {
  private readonly entries = new Map<string, { promise: Promise<V>; bytes: number }>();
  private bytes = 0;
  /** Loads started (misses), and requests answered from the cache. */
  loads = 0;
  hits = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly sizeOf: (value: V) => number,
  ) {}

  get(key: string, load: () => Promise<V>): Promise<V> {
    const entry = this.entries.get(key);
    if (entry !== undefined) {
      this.hits++;
      // Re-insert: Map order is the recency order.
      this.entries.delete(key);
      this.entries.set(key, entry);
      return entry.promise;
    }
    this.loads++;
    const created = { promise: load(), bytes: 0 };
    this.entries.set(key, created);
    created.promise.then(
      (value) => {
        if (this.entries.get(key) !== created) return;
        created.bytes = this.sizeOf(value);
        this.bytes += created.bytes;
        this.evict();
      },
      () => {
        if (this.entries.get(key) === created) this.entries.delete(key);
      },
    );
    return created.promise;
  }

  /** Bytes of the values held now (loads still running count as none). */
  get heldBytes(): number {
    return this.bytes;
  }

  get size(): number {
    return this.entries.size;
  }

  private evict(): void {
    for (const [key, entry] of this.entries) {
      if (this.bytes <= this.maxBytes || this.entries.size <= 1) break;
      // Still loading: its size is unknown and a task waits on it.
      if (entry.bytes === 0) continue;
      this.entries.delete(key);
      this.bytes -= entry.bytes;
    }
  }
}
