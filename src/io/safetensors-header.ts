import { InvalidFileError } from '../errors.js';
import { DTYPE_BITS, DTYPES, type DType, isDType } from '../tensor/dtype.js';
import { type JsonValue, parseHeaderJson } from './header-json.js';

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

const U64_MAX = (1n << 64n) - 1n;

type JsonObject = Extract<JsonValue, { kind: 'object' }>;

function describe(value: JsonValue): string {
  switch (value.kind) {
    case 'object':
      return 'an object';
    case 'array':
      return 'an array';
    case 'string':
      return JSON.stringify(value.value);
    case 'unsigned':
    case 'negative':
      return String(value.value);
    case 'float':
      return `the float ${Object.is(value.value, -0) ? '-0' : value.value}`;
    case 'boolean':
      return String(value.value);
    case 'null':
      return 'null';
  }
}

/** `null` means no metadata, as in the reference; repeated keys keep the last value, as serde's map does. */
function parseMetadata(file: string, value: JsonValue): Record<string, string> {
  if (value.kind === 'null') return {};
  if (value.kind !== 'object')
    throw new InvalidFileError(
      file,
      `'${METADATA_KEY}' must be an object of strings or null, got ${describe(value)}`,
    );
  const out = new Map<string, string>();
  for (const [key, v] of value.entries) {
    if (v.kind !== 'string') {
      throw new InvalidFileError(
        file,
        `'${METADATA_KEY}' value of '${key}' must be a string, got ${describe(v)}`,
      );
    }
    out.set(key, v.value);
  }
  // fromEntries defines own properties, so a key such as '__proto__' stays plain data.
  return Object.fromEntries(out);
}

const FIELDS = ['dtype', 'shape', 'data_offsets'] as const;
type Field = (typeof FIELDS)[number];

/** The three fields of a tensor's entry: from an object (other keys ignored) or, as serde allows, a 3-array. */
function entryFields(file: string, name: string, value: JsonValue): Record<Field, JsonValue> {
  if (value.kind === 'array') {
    if (value.items.length !== 3) {
      throw new InvalidFileError(
        file,
        `header entry given as an array must hold [dtype, shape, data_offsets], got ${value.items.length} items`,
        name,
      );
    }
    const [dtype, shape, offsets] = value.items as [JsonValue, JsonValue, JsonValue];
    return { dtype, shape, data_offsets: offsets };
  }
  if (value.kind !== 'object') {
    throw new InvalidFileError(file, `header entry must be an object, got ${describe(value)}`, name);
  }
  const found = new Map<Field, JsonValue>();
  for (const [key, v] of value.entries) {
    if (!(FIELDS as readonly string[]).includes(key)) continue;
    if (found.has(key as Field)) throw new InvalidFileError(file, `header entry has '${key}' twice`, name);
    found.set(key as Field, v);
  }
  for (const field of FIELDS) {
    if (!found.has(field)) throw new InvalidFileError(file, `header entry has no '${field}'`, name);
  }
  return Object.fromEntries(found) as Record<Field, JsonValue>;
}

/** A dtype is its name, or (serde's other spelling of a unit enum variant) an object `{"NAME": null}`. */
function parseDType(file: string, name: string, value: JsonValue): DType {
  const spelled =
    value.kind === 'string'
      ? value.value
      : value.kind === 'object' && value.entries.length === 1 && value.entries[0][1].kind === 'null'
        ? value.entries[0][0]
        : undefined;
  if (!isDType(spelled)) {
    throw new InvalidFileError(
      file,
      `unknown dtype ${spelled === undefined ? describe(value) : JSON.stringify(spelled)} (known: ${DTYPES.join(', ')})`,
      name,
    );
  }
  return spelled;
}

function unsignedList(file: string, name: string, field: Field, value: JsonValue): bigint[] {
  if (value.kind !== 'array' || !value.items.every((v) => v.kind === 'unsigned')) {
    const got = value.kind === 'array' ? `[${value.items.map(describe).join(', ')}]` : describe(value);
    throw new InvalidFileError(file, `${field} must be an array of non-negative integers, got ${got}`, name);
  }
  return value.items.map((v) => (v as { value: bigint }).value);
}

interface RawEntry {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly bigint[];
  readonly begin: bigint;
  readonly end: bigint;
}

function parseEntry(file: string, name: string, value: JsonValue): RawEntry {
  const fields = entryFields(file, name, value);
  const dtype = parseDType(file, name, fields.dtype);
  const shape = unsignedList(file, name, 'shape', fields.shape);
  const offsets = unsignedList(file, name, 'data_offsets', fields.data_offsets);
  if (offsets.length !== 2) {
    throw new InvalidFileError(
      file,
      `data_offsets must be [begin, end], got ${offsets.length} numbers`,
      name,
    );
  }
  return { name, dtype, shape, begin: offsets[0], end: offsets[1] };
}

/**
 * Checks the tensors as the reference's `Metadata::validate` does: sorted by offsets, they must tile the data
 * section from byte 0 with no gap and no overlap, and each must span exactly the bytes its shape and dtype need
 * (whole bytes: an odd count of 4-bit elements is refused). Returns the end of the last tensor.
 */
function validateLayout(file: string, entries: readonly RawEntry[]): bigint {
  let start = 0n;
  for (const e of entries) {
    const range = `data_offsets [${e.begin}, ${e.end}]`;
    if (e.end < e.begin) throw new InvalidFileError(file, `${range} end before they begin`, e.name);
    if (e.begin > start) {
      throw new InvalidFileError(
        file,
        `${range} leave bytes ${start}..${e.begin} of the data section unused; tensors must follow each other ` +
          'from byte 0 with no gap (the reference reader refuses such files)',
        e.name,
      );
    }
    if (e.begin < start) {
      throw new InvalidFileError(
        file,
        `${range} overlap the tensor before, which ends at byte ${start}`,
        e.name,
      );
    }
    start = e.end;
    let elements = 1n;
    for (const d of e.shape) {
      elements *= d;
      if (elements > U64_MAX)
        throw new InvalidFileError(file, `shape [${e.shape.join(', ')}] overflows u64`, e.name);
    }
    const bits = elements * BigInt(DTYPE_BITS[e.dtype]);
    if (bits > U64_MAX)
      throw new InvalidFileError(file, `shape [${e.shape.join(', ')}] overflows u64 in bits`, e.name);
    if (bits % 8n !== 0n) {
      throw new InvalidFileError(
        file,
        `shape [${e.shape.join(', ')}] of ${e.dtype} holds ${elements} elements of ${DTYPE_BITS[e.dtype]} bits, ` +
          'which do not fill whole bytes',
        e.name,
      );
    }
    if (bits / 8n !== e.end - e.begin) {
      throw new InvalidFileError(
        file,
        `shape [${e.shape.join(', ')}] of ${e.dtype} needs ${bits / 8n} bytes but ${range} span ${e.end - e.begin}`,
        e.name,
      );
    }
  }
  return start;
}

/**
 * Parses and validates a safetensors JSON header by the reference implementation's rules (huggingface/safetensors,
 * `SafeTensors::read_metadata`): serde_json's JSON, `__metadata__` an optional map of strings (null for none),
 * a repeated tensor name keeping its last entry, tensors tiling the data section exactly. `dataBytes` is the
 * length of the data section: the tensors must end exactly there (no trailing bytes, no truncation).
 */
export function parseSafetensorsHeader(
  file: string,
  headerBytes: Uint8Array,
  dataBytes: number,
): SafetensorsHeader {
  let json: JsonValue;
  try {
    // ignoreBOM keeps a byte-order mark in the text, where the parser refuses it as the reference does.
    const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(headerBytes);
    json = parseHeaderJson(text);
  } catch (error) {
    throw new InvalidFileError(file, `header is not valid UTF-8 JSON (${(error as Error).message})`);
  }
  if (json.kind !== 'object')
    throw new InvalidFileError(file, `header must be a JSON object, got ${describe(json)}`);

  let metadata: Record<string, string> | undefined;
  const byName = new Map<string, RawEntry>();
  for (const [name, value] of (json as JsonObject).entries) {
    if (name === METADATA_KEY) {
      if (metadata !== undefined)
        throw new InvalidFileError(file, `'${METADATA_KEY}' appears twice in the header`);
      metadata = parseMetadata(file, value);
    } else {
      byName.set(name, parseEntry(file, name, value));
    }
  }

  const raw = [...byName.values()].sort((a, b) => compareBig(a.begin, b.begin) || compareBig(a.end, b.end));
  const covered = validateLayout(file, raw);
  if (covered !== BigInt(dataBytes)) {
    throw new InvalidFileError(
      file,
      covered < BigInt(dataBytes)
        ? `the tensors cover ${covered} bytes but ${dataBytes} follow the header; trailing bytes are refused ` +
            '(as by the reference reader)'
        : `the tensors need ${covered} bytes but only ${dataBytes} follow the header (truncated file?)`,
    );
  }
  const entries = raw.map((e): SafetensorsEntry => {
    const big = e.shape.find((d) => d > BigInt(Number.MAX_SAFE_INTEGER));
    if (big !== undefined) {
      // Only a zero-element tensor can get here; the reference accepts it, but a JavaScript number would round it.
      throw new InvalidFileError(
        file,
        `shape dimension ${big} is 2^53 or more, which this reader cannot hold`,
        e.name,
      );
    }
    const shape = Object.freeze(e.shape.map(Number));
    return { name: e.name, dtype: e.dtype, shape, begin: Number(e.begin), end: Number(e.end) };
  });
  return { entries, metadata: metadata ?? {} };
}

/**
 * Orders strings as Rust orders `String`s (by UTF-8 bytes, which is code point order); JavaScript's `<` compares
 * UTF-16 units, which puts astral characters before U+E000..U+FFFF.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x - y;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}

function compareBig(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The length prefix read as a u64, exactly (a message must show what the file says, not Infinity). */
export function readHeaderLength(prefix: Uint8Array): bigint {
  const view = new DataView(prefix.buffer, prefix.byteOffset, LENGTH_PREFIX_BYTES);
  return view.getBigUint64(0, true);
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
  if (metadata !== undefined && Object.keys(metadata).length > 0) {
    // Sorted so the same metadata gives the same bytes whatever order it was built in (the reference writes a
    // hash map, in no fixed order, so any order conforms).
    const keys = Object.keys(metadata).sort(compareCodePoints);
    header[METADATA_KEY] = Object.fromEntries(keys.map((k) => [k, metadata[k]]));
  }
  for (const e of entries)
    header[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [e.begin, e.end] };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(LENGTH_PREFIX_BYTES + padded).fill(0x20, LENGTH_PREFIX_BYTES + json.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, LENGTH_PREFIX_BYTES);
  return out;
}
