import type { FileHandle } from 'node:fs/promises';
import { InvalidFileError } from '../errors.js';
import type { RawTensor } from '../tensor/tensor.js';
import { openForReading, readFileRange } from './file-range.js';
import type { NamedTensor } from './named-tensor.js';
import { DEFAULT_READ_CONCURRENCY, readAhead } from './read-ahead.js';
import {
  LENGTH_PREFIX_BYTES,
  MAX_HEADER_BYTES,
  parseSafetensorsHeader,
  readHeaderLength,
  type SafetensorsEntry,
} from './safetensors-header.js';
import type { TensorInfo, TensorSource } from './tensor-source.js';

/**
 * A safetensors file opened for tensor-by-tensor reading. Only the header is read on open; each tensor is then
 * read with positional reads of its own byte range, so files of any size (beyond 2 GiB too) work without
 * loading the whole file. Tensor bytes land at offset 0 of a fresh buffer, hence aligned for typed arrays.
 */
export class SafetensorsReader implements TensorSource {
  private readonly byName: ReadonlyMap<string, SafetensorsEntry>;
  private readonly names: readonly string[];
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    readonly entries: readonly SafetensorsEntry[],
    readonly metadata: Readonly<Record<string, string>>,
    /** File offset of the data section. */
    readonly dataStart: number,
    readonly fileBytes: number,
  ) {
    this.byName = new Map(entries.map((e) => [e.name, e]));
    this.names = Object.freeze(entries.map((e) => e.name));
  }

  static async open(path: string): Promise<SafetensorsReader> {
    const handle = await openForReading(path);
    try {
      const { size } = await handle.stat();
      if (size < LENGTH_PREFIX_BYTES) {
        throw new InvalidFileError(path, `file is ${size} bytes, too short for the 8-byte header length`);
      }
      const prefix = new Uint8Array(LENGTH_PREFIX_BYTES);
      await readFileRange(handle, prefix, 0, path);
      const declared = readHeaderLength(prefix);
      if (declared > BigInt(MAX_HEADER_BYTES)) {
        throw new InvalidFileError(
          path,
          `not a safetensors file: its first 8 bytes give a header length of ${declared}, over the ${MAX_HEADER_BYTES}-byte cap`,
        );
      }
      const headerBytes = Number(declared);
      if (LENGTH_PREFIX_BYTES + headerBytes > size) {
        throw new InvalidFileError(
          path,
          `header length ${headerBytes} runs past the end of the ${size}-byte file (truncated?)`,
        );
      }
      const header = new Uint8Array(headerBytes);
      await readFileRange(handle, header, LENGTH_PREFIX_BYTES, path);
      const dataStart = LENGTH_PREFIX_BYTES + headerBytes;
      const { entries, metadata } = parseSafetensorsHeader(path, header, size - dataStart);
      return new SafetensorsReader(path, handle, entries, metadata, dataStart, size);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  tensorNames(): readonly string[] {
    return this.names;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** Header entry of a tensor, with its byte range in the data section. */
  entry(name: string): SafetensorsEntry {
    const entry = this.byName.get(name);
    if (entry === undefined)
      throw new InvalidFileError(this.path, 'no tensor of this name in the file', name);
    return entry;
  }

  info(name: string): TensorInfo {
    const { dtype, shape } = this.entry(name);
    return { name, dtype, shape };
  }

  async read(name: string): Promise<RawTensor> {
    const entry = this.entry(name);
    const length = entry.end - entry.begin;
    // Unzeroed memory is safe here because readInto fills every byte or throws; it saves a memset per tensor.
    // allocUnsafeSlow gives a buffer of its own at offset 0 (never a slice of the shared pool), hence aligned.
    const buffer = Buffer.allocUnsafeSlow(length);
    return this.readInto(name, new Uint8Array(buffer.buffer, buffer.byteOffset, length));
  }

  /**
   * Reads a tensor into `target` (at least as long as the tensor) so a caller merging tensor by tensor can reuse
   * one buffer. The result's bytes are the leading part of `target`.
   */
  async readInto(name: string, target: Uint8Array): Promise<RawTensor> {
    const entry = this.entry(name);
    if (this.closed) throw new Error(`${this.path}: reader is closed`);
    const length = entry.end - entry.begin;
    if (target.length < length) {
      throw new RangeError(
        `${this.path}: tensor '${name}' needs ${length} bytes, buffer holds ${target.length}`,
      );
    }
    const bytes = target.length === length ? target : target.subarray(0, length);
    await readFileRange(this.handle, bytes, this.dataStart + entry.begin, this.path, name);
    return { dtype: entry.dtype, shape: entry.shape, bytes };
  }

  /** Yields the named tensors (all by default) in the order given, with up to `concurrency` reads in flight. */
  readMany(
    names: readonly string[] = this.names,
    concurrency: number = DEFAULT_READ_CONCURRENCY,
  ): AsyncGenerator<NamedTensor> {
    return readAhead(this, names, concurrency);
  }

  /** Closes the file; waits for reads in flight. Calling it twice is harmless. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }
}
