import type { FileHandle } from 'node:fs/promises';
import { InvalidFileError } from '../errors.js';
import { byteLength, DTYPES, type DType, isDType } from '../tensor/dtype.js';
import type { RawTensor } from '../tensor/tensor.js';
import { elementCount } from '../tensor/tensor.js';
import { withAtomicFile, writeFully } from './atomic-file.js';
import type { NamedTensor } from './named-tensor.js';
import {
  compareCodePoints,
  encodeSafetensorsHeader,
  METADATA_KEY,
  type SafetensorsEntry,
} from './safetensors-header.js';

/** What the header says of a tensor before its bytes exist. */
export interface TensorEntry {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
}

/**
 * Produces the little-endian bytes of one tensor. Called once per tensor, in file order, each call only after
 * the previous tensor's bytes were written, so a producer may hand back the same reused buffer every time.
 */
export type TensorProducer = (name: string, index: number) => Promise<Uint8Array> | Uint8Array;

export interface SafetensorsLayout {
  /** Length prefix plus padded JSON header. */
  readonly header: Uint8Array;
  /** Entries with their data-section offsets, in file order (see `compareForLayout`). */
  readonly entries: readonly SafetensorsEntry[];
  readonly fileBytes: number;
}

/** A string with a lone UTF-16 surrogate has no UTF-8 form; the reference reader refuses the escape JSON gives it. */
function checkWellFormed(file: string, text: string, what: string, tensor?: string): void {
  // With the u flag a surrogate pair is one code point, so \p{Cs} matches only a lone surrogate.
  if (/\p{Cs}/u.test(text)) {
    throw new InvalidFileError(
      file,
      `${what} ${JSON.stringify(text)} holds a lone UTF-16 surrogate, which safetensors cannot store`,
      tensor,
    );
  }
}

function checkEntry(file: string, entry: TensorEntry, seen: Set<string>): void {
  const { name, dtype, shape } = entry;
  if (name === METADATA_KEY) throw new InvalidFileError(file, `'${METADATA_KEY}' is reserved`, name);
  checkWellFormed(file, name, 'the tensor name', name);
  if (seen.has(name)) throw new InvalidFileError(file, 'tensor name given twice', name);
  seen.add(name);
  if (!isDType(dtype)) throw new InvalidFileError(file, `unknown dtype ${JSON.stringify(dtype)}`, name);
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new InvalidFileError(
      file,
      `shape must be non-negative integers, got ${JSON.stringify(shape)}`,
      name,
    );
  }
}

/**
 * The reference writer's order (safetensors/src/tensor.rs, `prepare`): dtype descending in the reference's enum
 * order, which puts the widest elements first so every tensor starts aligned to its element size, then name.
 * The same tensors thus give the same bytes whatever order they come in.
 */
export function compareForLayout(a: TensorEntry, b: TensorEntry): number {
  return DTYPES.indexOf(b.dtype) - DTYPES.indexOf(a.dtype) || compareCodePoints(a.name, b.name);
}

/** The bytes a tensor takes in the file; refuses sub-byte elements that do not fill whole bytes. */
export function tensorByteLength(file: string, entry: TensorEntry): number {
  const bytes = byteLength(entry.dtype, elementCount(entry.shape));
  if (bytes === undefined) {
    throw new InvalidFileError(
      file,
      `${elementCount(entry.shape)} elements of ${entry.dtype} do not fill whole bytes`,
      entry.name,
    );
  }
  return bytes;
}

/** Lays out the file as the reference does: tensors in `compareForLayout` order, after a header padded to 8 bytes. */
export function planSafetensors(
  file: string,
  tensors: readonly TensorEntry[],
  metadata?: Readonly<Record<string, string>>,
): SafetensorsLayout {
  for (const [key, value] of Object.entries(metadata ?? {})) {
    if (typeof value !== 'string')
      throw new InvalidFileError(file, `metadata value of '${key}' must be a string`);
    checkWellFormed(file, key, 'the metadata key');
    checkWellFormed(file, value, `the metadata value of ${JSON.stringify(key)}`);
  }
  const seen = new Set<string>();
  for (const t of tensors) checkEntry(file, t, seen);
  let offset = 0;
  const entries = [...tensors].sort(compareForLayout).map((t): SafetensorsEntry => {
    const bytes = tensorByteLength(file, t);
    const entry = { name: t.name, dtype: t.dtype, shape: [...t.shape], begin: offset, end: offset + bytes };
    offset += bytes;
    return entry;
  });
  const header = encodeSafetensorsHeader(entries, metadata);
  return { header, entries, fileBytes: header.length + offset };
}

/**
 * Writes header and tensors of a planned file through `handle`, pulling each tensor's bytes from `produce`.
 * `file` and `firstIndex` only serve messages and the producer's index argument.
 */
export async function writeSafetensorsContent(
  handle: FileHandle,
  file: string,
  layout: SafetensorsLayout,
  produce: TensorProducer,
  firstIndex = 0,
): Promise<void> {
  await writeFully(handle, layout.header, 0);
  for (const [index, entry] of layout.entries.entries()) {
    const bytes = await produce(entry.name, firstIndex + index);
    const expected = entry.end - entry.begin;
    if (!(bytes instanceof Uint8Array) || bytes.length !== expected) {
      const got = bytes instanceof Uint8Array ? `${bytes.length} bytes` : 'no Uint8Array';
      throw new InvalidFileError(file, `producer returned ${got}, the header says ${expected}`, entry.name);
    }
    await writeFully(handle, bytes, layout.header.length + entry.begin);
  }
}

/**
 * Streams a safetensors file to `path` one tensor at a time, so a model larger than memory can be written as it
 * is merged. Atomic: the file appears under `path` complete or not at all; on any error (including a producer
 * that throws or returns the wrong number of bytes) no temporary file is left and an existing `path` is kept.
 */
export async function writeSafetensors(
  path: string,
  tensors: readonly TensorEntry[],
  produce: TensorProducer,
  metadata?: Readonly<Record<string, string>>,
): Promise<void> {
  const layout = planSafetensors(path, tensors, metadata);
  await withAtomicFile(path, (handle) => writeSafetensorsContent(handle, path, layout, produce));
}

/** Writes tensors already in memory (in the reference's order, whatever the map or array order). */
export async function writeSafetensorsTensors(
  path: string,
  tensors: ReadonlyMap<string, RawTensor> | readonly NamedTensor[],
  metadata?: Readonly<Record<string, string>>,
): Promise<void> {
  const list: NamedTensor[] = Array.isArray(tensors)
    ? [...(tensors as readonly NamedTensor[])]
    : [...(tensors as ReadonlyMap<string, RawTensor>)].map(([name, tensor]) => ({ name, tensor }));
  const byName = new Map(list.map(({ name, tensor }) => [name, tensor]));
  const entries = list.map(({ name, tensor }) => ({ name, dtype: tensor.dtype, shape: tensor.shape }));
  await writeSafetensors(path, entries, (name) => byName.get(name)!.bytes, metadata);
}
