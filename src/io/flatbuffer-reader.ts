/**
 * A bounds-checked reader of FlatBuffers tables, for metadata from untrusted files (Arrow IPC). The generated
 * FlatBuffers accessors trust every offset and length they read: a changed byte can point a vector at gigabytes
 * or a table at itself. Here every offset, vtable, vector and string must lie inside the region, and any that
 * does not raises FlatBufferRangeError, which callers turn into an error naming their file.
 */
export class FlatBufferRangeError extends Error {
  override readonly name = 'FlatBufferRangeError';
}

export class FlatTable {
  private constructor(
    private readonly view: DataView,
    /** The region's end, relative to the view. */
    private readonly end: number,
    readonly position: number,
    private readonly vtable: number,
    private readonly vtableSize: number,
  ) {}

  /** The root table of a FlatBuffer occupying `bytes` (its first 4 bytes are the root offset). */
  static root(bytes: Uint8Array): FlatTable {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (bytes.byteLength < 4) throw new FlatBufferRangeError('metadata shorter than a root offset');
    return FlatTable.at(view, bytes.byteLength, view.getUint32(0, true));
  }

  private static at(view: DataView, end: number, position: number): FlatTable {
    check(position, 4, end, 'table');
    const vtable = position - view.getInt32(position, true);
    check(vtable, 4, end, 'vtable');
    const vtableSize = view.getUint16(vtable, true);
    const tableSize = view.getUint16(vtable + 2, true);
    if (vtableSize < 4 || vtableSize % 2 !== 0) throw new FlatBufferRangeError(`vtable size ${vtableSize}`);
    check(vtable, vtableSize, end, 'vtable');
    check(position, tableSize, end, 'table');
    return new FlatTable(view, end, position, vtable, vtableSize);
  }

  /** The field's position, or undefined when the table leaves it at its default. */
  private field(index: number, width: number): number | undefined {
    const slot = 4 + 2 * index;
    if (slot >= this.vtableSize) return undefined;
    const offset = this.view.getUint16(this.vtable + slot, true);
    if (offset === 0) return undefined;
    check(this.position + offset, width, this.end, `field ${index}`);
    return this.position + offset;
  }

  uint8(index: number, fallback: number): number {
    const at = this.field(index, 1);
    return at === undefined ? fallback : this.view.getUint8(at);
  }

  int16(index: number, fallback: number): number {
    const at = this.field(index, 2);
    return at === undefined ? fallback : this.view.getInt16(at, true);
  }

  int32(index: number, fallback: number): number {
    const at = this.field(index, 4);
    return at === undefined ? fallback : this.view.getInt32(at, true);
  }

  /** An int64 as a number; values beyond 2^53 are returned as Infinity (never valid where they are read). */
  int64(index: number, fallback: number): number {
    const at = this.field(index, 8);
    return at === undefined ? fallback : this.int64At(at);
  }

  int64At(at: number): number {
    check(at, 8, this.end, 'int64');
    const value = this.view.getBigInt64(at, true);
    return value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)
      ? Number.POSITIVE_INFINITY
      : Number(value);
  }

  int32At(at: number): number {
    check(at, 4, this.end, 'int32');
    return this.view.getInt32(at, true);
  }

  private target(index: number): number | undefined {
    const at = this.field(index, 4);
    return at === undefined ? undefined : at + this.view.getUint32(at, true);
  }

  table(index: number): FlatTable | undefined {
    const at = this.target(index);
    return at === undefined ? undefined : FlatTable.at(this.view, this.end, at);
  }

  /** A vector's element count and first element's position; elements of `width` bytes must all fit. */
  vector(index: number, width: number): { readonly length: number; readonly start: number } | undefined {
    const at = this.target(index);
    if (at === undefined) return undefined;
    check(at, 4, this.end, 'vector');
    const length = this.view.getUint32(at, true);
    check(at + 4, length * width, this.end, 'vector');
    return { length, start: at + 4 };
  }

  /** The tables of a vector of tables. */
  tables(index: number): FlatTable[] {
    const vector = this.vector(index, 4);
    if (vector === undefined) return [];
    return Array.from({ length: vector.length }, (_, k) => {
      const slot = vector.start + 4 * k;
      return FlatTable.at(this.view, this.end, slot + this.view.getUint32(slot, true));
    });
  }

  string(index: number): string | undefined {
    const vector = this.vector(index, 1);
    if (vector === undefined) return undefined;
    const bytes = new Uint8Array(this.view.buffer, this.view.byteOffset + vector.start, vector.length);
    return new TextDecoder().decode(bytes);
  }
}

function check(position: number, width: number, end: number, what: string): void {
  if (!(position >= 0 && width >= 0 && position + width <= end)) {
    throw new FlatBufferRangeError(`${what} at ${position} (${width} bytes) lies outside the ${end} bytes`);
  }
}
