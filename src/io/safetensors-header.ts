import { InvalidFileError } from '../errors.js';
import { DTYPE_BYTES, DTYPES, type DType, isDType } from '../tensor/dtype.js';
import { shapeToString } from '../tensor/tensor.js';
import { findDuplicateKey } from './json-duplicate-keys.js';

/**
 * The largest JSON header accepted, the same cap as the reference implementation: a length prefix beyond it is
 * far more likely a corrupt or foreign file than a real header, and would otherwise make us allocate it.
 */
export const MAX_HEADER_BYTES = 100_000_000;

/** Bytes before the JSON header: its length as a little-endian u64. */
export const LENGTH_PREFIX_BYTES = 8;

export const METADATA_KEY = '__metadata__';

export interface SafetensorsEntry {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** Byte offsets relative to the start of the data section (just after the header). */
  readonly begin: number;
  readonly end: number;
}

export interface SafetensorsHeader {
  /** Entries in file order (by data offset). */
  readonly entries: readonly SafetensorsEntry[];
  readonly metadata: Readonly<Record<string, string>>;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNonNegativeSafeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function parseMetadata(file: string, value: unknown): Record<string, string> {
  if (!isPlainObject(value))
    throw new InvalidFileError(file, `'${METADATA_KEY}' must be an object of strings`);
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string') {
      throw new InvalidFileError(
        file,
        `'${METADATA_KEY}' value of '${key}' must be a string, got ${JSON.stringify(v)}`,
      );
    }
  }
  // fromEntries defines own properties, so a key such as '__proto__' stays plain data.
  return Object.fromEntries(Object.entries(value)) as Record<string, string>;
}

function parseEntry(file: string, name: string, value: unknown, dataBytes: number): SafetensorsEntry {
  if (!isPlainObject(value)) throw new InvalidFileError(file, 'header entry must be an object', name);
  const { dtype, shape, data_offsets: offsets } = value;
  if (!isDType(dtype)) {
    throw new InvalidFileError(
      file,
      `unknown dtype ${JSON.stringify(dtype)} (known: ${DTYPES.join(', ')})`,
      name,
    );
  }
  if (!Array.isArray(shape) || !shape.every(isNonNegativeSafeInteger)) {
    throw new InvalidFileError(
      file,
      `shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`,
      name,
    );
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegativeSafeInteger)) {
    throw new InvalidFileError(
      file,
      `data_offsets must be [begin, end] of non-negative integers, got ${JSON.stringify(offsets)}`,
      name,
    );
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end)
    throw new InvalidFileError(file, `data_offsets [${begin}, ${end}] end before they begin`, name);
  if (end > dataBytes) {
    throw new InvalidFileError(
      file,
      `data_offsets [${begin}, ${end}] reach beyond the data section of ${dataBytes} bytes (truncated file?)`,
      name,
    );
  }
  let elements = 1;
  for (const d of shape as number[]) elements *= d;
  const expected = elements * DTYPE_BYTES[dtype];
  if (expected !== end - begin) {
    throw new InvalidFileError(
      file,
      `shape ${shapeToString(shape as number[])} of ${dtype} needs ${expected} bytes but data_offsets ` +
        `[${begin}, ${end}] span ${end - begin}`,
      name,
    );
  }
  return { name, dtype, shape: Object.freeze([...(shape as number[])]), begin, end };
}

/**
 * Parses and validates a safetensors JSON header. `dataBytes` is the length of the data section, so every
 * tensor's byte range can be checked against it. Gaps between tensors are tolerated; overlaps are not.
 */
export function parseSafetensorsHeader(
  file: string,
  headerBytes: Uint8Array,
  dataBytes: number,
): SafetensorsHeader {
  let json: unknown;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
    json = JSON.parse(text);
  } catch (error) {
    throw new InvalidFileError(file, `header is not valid UTF-8 JSON (${(error as Error).message})`);
  }
  if (!isPlainObject(json)) throw new InvalidFileError(file, 'header must be a JSON object');
  const duplicate = findDuplicateKey(text);
  if (duplicate !== undefined) {
    const [tensor, ...inner] = duplicate.path;
    if (tensor === undefined) {
      throw new InvalidFileError(file, 'is named twice in the header', duplicate.key);
    }
    throw new InvalidFileError(
      file,
      `header entry has '${[...inner, duplicate.key].join('.')}' twice`,
      tensor,
    );
  }

  let metadata: Record<string, string> = {};
  const entries: SafetensorsEntry[] = [];
  for (const [name, value] of Object.entries(json)) {
    if (name === METADATA_KEY) metadata = parseMetadata(file, value);
    else entries.push(parseEntry(file, name, value, dataBytes));
  }

  // Sorting by (begin, end) puts zero-byte tensors before a tensor starting at the same offset, so they do not
  // count as overlaps; any other shared byte does.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < entries.length; i++) {
    const previous = entries[i - 1];
    const current = entries[i];
    if (current.begin < previous.end) {
      throw new InvalidFileError(
        file,
        `data_offsets [${current.begin}, ${current.end}] overlap those of '${previous.name}' ` +
          `[${previous.begin}, ${previous.end}]`,
        current.name,
      );
    }
  }
  return { entries, metadata };
}

/** The length prefix read as a u64: a number when it is below 2^53, else Infinity (surely invalid anyway). */
export function readHeaderLength(prefix: Uint8Array): number {
  const view = new DataView(prefix.buffer, prefix.byteOffset, LENGTH_PREFIX_BYTES);
  const length = view.getBigUint64(0, true);
  return length > BigInt(Number.MAX_SAFE_INTEGER) ? Number.POSITIVE_INFINITY : Number(length);
}

/**
 * Header bytes for the given entries and metadata, padded with spaces to a multiple of 8 bytes so the data
 * section starts aligned (as the reference implementation writes it), prefixed with its length.
 */
export function encodeSafetensorsHeader(
  entries: readonly SafetensorsEntry[],
  metadata: Readonly<Record<string, string>> | undefined,
): Uint8Array {
  // No prototype, so a tensor named '__proto__' is stored as a key rather than swapping the prototype.
  const header: Record<string, unknown> = Object.create(null);
  if (metadata !== undefined && Object.keys(metadata).length > 0) header[METADATA_KEY] = metadata;
  for (const e of entries)
    header[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [e.begin, e.end] };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(LENGTH_PREFIX_BYTES + padded).fill(0x20, LENGTH_PREFIX_BYTES + json.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, LENGTH_PREFIX_BYTES);
  return out;
}
