import { InvalidFileError } from '../errors.js';
import { FlatBufferRangeError, FlatTable } from './flatbuffer-reader.js';

/*
 * Arrow IPC bytes from a file or the bus are checked here before apache-arrow decodes them. Its decoder trusts
 * the metadata: one changed byte can make it loop, allocate gigabytes, or hand back columns shorter than their
 * row count (read as zeros). So the framing is read here with bounds checks first: the file magic and footer,
 * every message's metadata and body length, and in every record batch each column's row count against the
 * buffers that must hold its values. Only the column types a data file or tensor message could carry are
 * allowed; dictionaries, unions and views are refused.
 *
 * Compressed bodies (LZ4_FRAME or ZSTD, per buffer) are checked against each buffer's declared uncompressed
 * length, which the codecs (arrow-compression.ts) then hold the decompressed bytes to; a batch may declare at
 * most MAX_UNCOMPRESSED_BATCH_BYTES, so a small file cannot make the reader allocate without bound. Big-endian
 * data is described (which byte ranges hold words of which width) for arrow-big-endian.ts to convert.
 */

const MAGIC = [0x41, 0x52, 0x52, 0x4f, 0x57, 0x31]; // "ARROW1"
const CONTINUATION = 0xffffffff;
/** Nested columns deeper than this are refused: real data sets are one or two levels deep. */
const MAX_FIELD_DEPTH = 16;
/** The most bytes one compressed record batch may declare once decompressed (4 GiB). */
export const MAX_UNCOMPRESSED_BATCH_BYTES = 2 ** 32;
/** Arrow's CompressionType, as numbered in Message.fbs. */
const CODEC_NAMES = ['LZ4_FRAME', 'ZSTD'];
/** The uncompressed-length prefix value of a buffer stored as it is in a compressed body. */
const UNCOMPRESSED_BUFFER = -1;

// Message header kinds and column type ids, as numbered in Arrow's Message.fbs and Schema.fbs.
const HEADER_SCHEMA = 1;
const HEADER_RECORD_BATCH = 3;
const HEADER_NAMES = ['none', 'schema', 'dictionary batch', 'record batch', 'tensor', 'sparse tensor'];
const METADATA_V4 = 3;

const TYPE_NAMES: Readonly<Record<number, string>> = {
  1: 'Null',
  2: 'Int',
  3: 'FloatingPoint',
  4: 'Binary',
  5: 'Utf8',
  6: 'Bool',
  7: 'Decimal',
  8: 'Date',
  9: 'Time',
  10: 'Timestamp',
  11: 'Interval',
  12: 'List',
  13: 'Struct',
  14: 'Union',
  15: 'FixedSizeBinary',
  16: 'FixedSizeList',
  17: 'Map',
  18: 'Duration',
  19: 'LargeBinary',
  20: 'LargeUtf8',
  21: 'LargeList',
  22: 'RunEndEncoded',
  23: 'BinaryView',
  24: 'Utf8View',
  25: 'ListView',
  26: 'LargeListView',
};

/**
 * How a column's values are laid out in a record batch's buffers (see apache-arrow's VectorLoader). `word` is the
 * width in bytes of the words a big-endian file stores byte-reversed (1: bytes, nothing to reverse); undefined
 * where converting would need more than reversing words (decimals, month-day-nano intervals).
 */
type Layout =
  | { readonly kind: 'null' }
  | { readonly kind: 'fixed'; readonly bits: number; readonly word: number | undefined }
  | { readonly kind: 'variable'; readonly offsetBytes: number }
  | { readonly kind: 'list'; readonly offsetBytes: number }
  | { readonly kind: 'fixed-list'; readonly size: number }
  | { readonly kind: 'struct' };

interface Column {
  readonly path: string;
  readonly layout: Layout;
  readonly children: readonly Column[];
}

/** A problem inside the framing, reported with the file name by checkArrowIPC. */
class Corrupt extends Error {}

/** Bytes that are not Arrow at all (no magic, no readable first message). */
class NotArrow extends Error {}

/** Valid Arrow that mal cannot convert (big-endian data that is also compressed, say). */
class Unsupported extends Error {}

/** A byte range of the input holding words of `word` bytes each (2, 4 or 8). */
export interface WordRange {
  readonly start: number;
  readonly length: number;
  readonly word: number;
}

/** What checkArrowIPC found about how the data is stored. */
export interface ArrowIPCFraming {
  /** The schema's endianness field says big-endian. */
  readonly bigEndian: boolean;
  /** Some record batch has a compressed body. */
  readonly compressed: boolean;
  /** For big-endian data: every range whose words must be byte-reversed to read it little-endian. */
  readonly words: readonly WordRange[];
}

interface Framing {
  bigEndian: boolean;
  compressed: boolean;
  readonly words: WordRange[];
}

export interface ArrowIPCCheckOptions {
  /** What to call bytes that are not Arrow IPC at all: `not an Arrow IPC stream`, `… file or stream`. */
  readonly notArrow: string;
}

/**
 * Checks Arrow IPC bytes (file or stream format) against their own size; throws InvalidFileError naming `file`
 * and what is wrong. Once this passes, apache-arrow reads only bytes inside the buffer, and every column holds
 * at least as many values as its row count claims.
 */
export function checkArrowIPC(
  bytes: Uint8Array,
  file: string,
  options: ArrowIPCCheckOptions,
): ArrowIPCFraming {
  const framing: Framing = { bigEndian: false, compressed: false, words: [] };
  try {
    if (isFileFormat(bytes)) checkFile(bytes, framing);
    else checkStream(bytes, framing);
    if (framing.bigEndian && framing.compressed) {
      throw new Unsupported(
        'big-endian data in a compressed body; mal converts uncompressed big-endian data only (rewrite it little-endian or uncompressed)',
      );
    }
    return framing;
  } catch (error) {
    if (error instanceof NotArrow) throw new InvalidFileError(file, `${options.notArrow} (${error.message})`);
    if (error instanceof Unsupported) throw new InvalidFileError(file, error.message);
    if (error instanceof Corrupt || error instanceof FlatBufferRangeError) {
      throw new InvalidFileError(file, `corrupt Arrow IPC data: ${error.message}`);
    }
    throw error;
  }
}

function isFileFormat(bytes: Uint8Array): boolean {
  return bytes.byteLength >= 8 && MAGIC.every((b, k) => bytes[k] === b);
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function checkFile(bytes: Uint8Array, framing: Framing): void {
  const size = bytes.byteLength;
  // Magic (6) + padding (2) at the start; footer, its int32 length and the magic again at the end.
  if (size < 8 + 4 + 6 || !MAGIC.every((b, k) => bytes[size - 6 + k] === b)) {
    throw new Corrupt(`the file ends without the closing ARROW1 magic (truncated file?), ${size} bytes`);
  }
  const footerLength = view(bytes).getInt32(size - 10, true);
  const footerStart = size - 10 - footerLength;
  if (footerLength <= 0 || footerStart < 8) {
    throw new Corrupt(`footer length ${footerLength} does not fit in the file of ${size} bytes`);
  }
  const footer = FlatTable.root(bytes.subarray(footerStart, footerStart + footerLength));
  const schemaTable = footer.table(1);
  if (schemaTable === undefined) throw new Corrupt('the footer holds no schema');
  const columns = readSchema(schemaTable, framing);
  const dictionaries = footer.vector(2, 24);
  if (dictionaries !== undefined && dictionaries.length > 0) {
    throw new Corrupt('the file holds dictionary batches; mal reads plain numeric columns only');
  }
  const blocks = footer.vector(3, 24);
  for (let k = 0; k < (blocks?.length ?? 0); k += 1) {
    const at = (blocks?.start ?? 0) + 24 * k;
    const offset = footer.int64At(at);
    const metadataLength = footer.int32At(at + 8);
    const bodyLength = footer.int64At(at + 16);
    const where = `record batch ${k}`;
    if (!(offset >= 8 && offset + metadataLength + bodyLength <= footerStart && metadataLength > 0)) {
      throw new Corrupt(
        `${where}: block [${offset}, +${metadataLength}, +${bodyLength}] lies outside the data before the footer at ${footerStart}`,
      );
    }
    const message = readMessage(bytes, offset, footerStart, where);
    if (message.metadataEnd - offset !== metadataLength || message.bodyLength !== bodyLength) {
      throw new Corrupt(`${where}: the footer's block does not match the message at offset ${offset}`);
    }
    if (message.header !== HEADER_RECORD_BATCH) {
      throw new Corrupt(`${where}: the message at offset ${offset} is a ${headerName(message.header)}`);
    }
    checkRecordBatch(message, columns, bytes.byteLength, where, framing);
  }
}

function checkStream(bytes: Uint8Array, framing: Framing): void {
  const end = bytes.byteLength;
  let columns: readonly Column[] | undefined;
  let position = 0;
  let batch = 0;
  while (position < end) {
    const where = columns === undefined ? 'schema message' : `record batch ${batch}`;
    if (isEndOfStream(bytes, position, end)) break;
    let message: Message;
    try {
      message = readMessage(bytes, position, end, where);
    } catch (error) {
      if (columns === undefined && !(error instanceof NotArrow)) {
        throw new NotArrow(error instanceof Error ? error.message : String(error));
      }
      throw error;
    }
    if (columns === undefined) {
      if (message.header !== HEADER_SCHEMA) {
        throw new NotArrow(`the first message is a ${headerName(message.header)}, not a schema`);
      }
      columns = readSchema(message.table, framing);
    } else {
      if (message.header !== HEADER_RECORD_BATCH) {
        throw new Corrupt(
          `message ${batch + 1} is a ${headerName(message.header)}; mal reads record batches only`,
        );
      }
      checkRecordBatch(message, columns, bytes.byteLength, where, framing);
      batch += 1;
    }
    position = message.bodyStart + message.bodyLength;
  }
  if (columns === undefined) throw new NotArrow('no schema message');
}

function isEndOfStream(bytes: Uint8Array, position: number, end: number): boolean {
  const data = view(bytes);
  if (position + 4 > end) return false;
  const first = data.getUint32(position, true);
  if (first === 0) return true;
  return first === CONTINUATION && position + 8 <= end && data.getInt32(position + 4, true) === 0;
}

interface Message {
  readonly header: number;
  readonly table: FlatTable;
  readonly metadataEnd: number;
  readonly bodyStart: number;
  readonly bodyLength: number;
  readonly bytes: Uint8Array;
}

function headerName(header: number): string {
  return HEADER_NAMES[header] ?? `message of unknown kind ${header}`;
}

/** Reads one encapsulated message (continuation marker, metadata length, metadata, body) at `position`. */
function readMessage(bytes: Uint8Array, position: number, end: number, where: string): Message {
  const data = view(bytes);
  if (position + 8 > end) throw new Corrupt(`${where}: message at offset ${position} is cut short`);
  // Streams before Arrow 0.15 have no continuation marker: the length comes first.
  const marked = data.getUint32(position, true) === CONTINUATION;
  const metadataStart = position + (marked ? 8 : 4);
  const metadataLength = data.getInt32(position + (marked ? 4 : 0), true);
  const metadataEnd = metadataStart + metadataLength;
  if (metadataLength <= 0 || metadataEnd > end) {
    throw new Corrupt(
      `${where}: metadata length ${metadataLength} at offset ${position} does not fit in ${end} bytes`,
    );
  }
  const table = FlatTable.root(bytes.subarray(metadataStart, metadataEnd));
  const version = table.int16(0, 0);
  if (version < METADATA_V4 || version > METADATA_V4 + 1) {
    throw new Corrupt(`${where}: metadata version ${version + 1} is not V4 or V5`);
  }
  const header = table.uint8(1, 0);
  const content = table.table(2);
  if (content === undefined) throw new Corrupt(`${where}: message at offset ${position} has no header`);
  const bodyLength = table.int64(3, 0);
  if (!(bodyLength >= 0 && metadataEnd + bodyLength <= end)) {
    throw new Corrupt(
      `${where}: body of ${bodyLength} bytes at offset ${metadataEnd} reaches beyond the ${end} bytes there are (truncated file?)`,
    );
  }
  checkKeyValues(table, 4);
  return { header, table: content, metadataEnd, bodyStart: metadataEnd, bodyLength, bytes };
}

/** Reads every key and value, so that a bad string offset is found here and not in the decoder. */
function checkKeyValues(table: FlatTable, index: number): void {
  for (const pair of table.tables(index)) {
    pair.string(0);
    pair.string(1);
  }
}

function readSchema(schema: FlatTable, framing: Framing): Column[] {
  const endianness = schema.int16(0, 0);
  if (endianness !== 0 && endianness !== 1)
    throw new Corrupt(`the schema's endianness ${endianness} is neither 0 nor 1`);
  framing.bigEndian = endianness === 1;
  checkKeyValues(schema, 2);
  const fields = schema.tables(1);
  if (fields.length === 0) throw new Corrupt('the schema has no columns');
  return fields.map((field, k) => readField(field, `column ${k}`, 0, framing.bigEndian));
}

function readField(field: FlatTable, fallbackName: string, depth: number, bigEndian: boolean): Column {
  const name = field.string(0);
  const path = name === undefined || name === '' ? fallbackName : `'${name}'`;
  if (depth > MAX_FIELD_DEPTH)
    throw new Corrupt(`${path} is nested more than ${MAX_FIELD_DEPTH} levels deep`);
  checkKeyValues(field, 6);
  if (field.table(4) !== undefined) {
    throw new Corrupt(`${path} is dictionary-encoded; mal reads plain numeric columns`);
  }
  const typeId = field.uint8(2, 0);
  const type = field.table(3);
  const typeName = TYPE_NAMES[typeId] ?? `type ${typeId}`;
  if (type === undefined) throw new Corrupt(`${path} has no type`);
  const layout = layoutOf(typeId, type, path, typeName);
  if (bigEndian && layout.kind === 'fixed' && layout.word === undefined) {
    throw new Unsupported(`${path} (${typeName}) is big-endian, which mal does not convert for this type`);
  }
  const children = field.tables(5).map((child, k) => readField(child, `${path}[${k}]`, depth + 1, bigEndian));
  const expected = layout.kind === 'list' || layout.kind === 'fixed-list' ? 1 : undefined;
  if (layout.kind === 'struct' ? false : children.length !== (expected ?? 0)) {
    throw new Corrupt(
      `${path} (${typeName}) has ${children.length} child columns, expected ${expected ?? 0}`,
    );
  }
  return { path, layout, children };
}

function layoutOf(typeId: number, type: FlatTable, path: string, typeName: string): Layout {
  const unsupported = (): Corrupt => new Corrupt(`${path} has a column type mal does not read (${typeName})`);
  /** `word` defaults to the whole value (a number of `bits`), byte-reversed as one word when big-endian. */
  const fixed = (
    bits: number | undefined,
    word: number | null = bits === undefined ? null : Math.max(1, bits / 8),
  ): Layout => {
    if (bits === undefined) throw new Corrupt(`${path} has an unknown ${typeName} width`);
    return { kind: 'fixed', bits, word: word ?? undefined };
  };
  switch (typeId) {
    case 1:
      return { kind: 'null' };
    case 2:
      return fixed([8, 16, 32, 64].find((bits) => bits === type.int32(0, 0)));
    case 3:
      return fixed([16, 32, 64][type.int16(0, 0)]);
    case 4:
    case 5:
      return { kind: 'variable', offsetBytes: 4 };
    case 6:
      return fixed(1, 1);
    case 7:
      return fixed(
        [32, 64, 128, 256].find((bits) => bits === type.int32(2, 128)),
        null,
      );
    case 8:
      return fixed([32, 64][type.int16(0, 1)]);
    case 9:
      return fixed([32, 64].find((bits) => bits === type.int32(1, 32)));
    case 10:
    case 18:
      return fixed(64);
    case 11: {
      // YEAR_MONTH is one int32, DAY_TIME two; MONTH_DAY_NANO mixes int32 and int64 words.
      const unit = type.int16(0, 0);
      return fixed([32, 64, 128][unit], unit === 2 ? null : 4);
    }
    case 12:
    case 17:
      return { kind: 'list', offsetBytes: 4 };
    case 13:
      return { kind: 'struct' };
    case 15: {
      const width = type.int32(0, 0);
      if (!(width > 0)) throw new Corrupt(`${path}: FixedSizeBinary width ${width} is not positive`);
      return fixed(width * 8, 1);
    }
    case 16: {
      const size = type.int32(0, 0);
      if (!(size >= 0)) throw new Corrupt(`${path}: FixedSizeList size ${size} is negative`);
      return { kind: 'fixed-list', size };
    }
    case 19:
    case 20:
      return { kind: 'variable', offsetBytes: 8 };
    case 21:
      return { kind: 'list', offsetBytes: 8 };
    default:
      throw unsupported();
  }
}

interface BatchCursor {
  readonly nodes: { readonly length: number; readonly start: number };
  readonly buffers: { readonly length: number; readonly start: number };
  readonly table: FlatTable;
  readonly bytes: Uint8Array;
  readonly bodyStart: number;
  readonly bodyLength: number;
  /** The codec's name when the body is compressed. */
  readonly codec: string | undefined;
  /** What the batch's values take: its body's bytes, or once decompressed the lengths its buffers declare. */
  readonly capacity: number;
  readonly where: string;
  readonly framing: Framing;
  node: number;
  buffer: number;
  declared: number;
}

/** The codec of a compressed body, or undefined for an uncompressed one. */
function codecOf(batch: FlatTable, where: string): string | undefined {
  const compression = batch.table(3);
  if (compression === undefined) return undefined;
  const codec = compression.uint8(0, 0);
  const method = compression.uint8(1, 0);
  const name = CODEC_NAMES[codec];
  if (name === undefined) throw new Corrupt(`${where} is compressed with unknown codec ${codec}`);
  if (method !== 0)
    throw new Corrupt(`${where} uses body compression method ${method}; Arrow defines BUFFER (0) only`);
  return name;
}

function checkRecordBatch(
  message: Message,
  columns: readonly Column[],
  fileBytes: number,
  where: string,
  framing: Framing,
): void {
  const batch = message.table;
  const rows = batch.int64(0, 0);
  const codec = codecOf(batch, where);
  if (codec !== undefined) framing.compressed = true;
  // Uncompressed, no column takes less than a bit a row (Null columns take nothing, but a real file does not
  // hold those); compressed, the rows must fit in what the batch may declare.
  const capacity = codec === undefined ? fileBytes : MAX_UNCOMPRESSED_BATCH_BYTES;
  if (!(rows >= 0 && rows <= capacity * 8)) {
    throw new Corrupt(
      codec === undefined
        ? `${where} claims ${rows} rows, more than a file of ${fileBytes} bytes can hold`
        : `${where} claims ${rows} rows, more than mal decompresses in one record batch (${capacity} bytes)`,
    );
  }
  const nodes = batch.vector(1, 16) ?? { length: 0, start: 0 };
  const buffers = batch.vector(2, 16) ?? { length: 0, start: 0 };
  const cursor: BatchCursor = {
    nodes,
    buffers,
    table: batch,
    bytes: message.bytes,
    bodyStart: message.bodyStart,
    bodyLength: message.bodyLength,
    codec,
    capacity: codec === undefined ? message.bodyLength : MAX_UNCOMPRESSED_BATCH_BYTES,
    where,
    framing,
    node: 0,
    buffer: 0,
    declared: 0,
  };
  for (const column of columns) {
    const length = checkColumn(cursor, column);
    if (length !== rows) {
      throw new Corrupt(`${where} claims ${rows} rows but column ${column.path} has ${length}`);
    }
  }
}

/**
 * The bytes a buffer holds once read: its size, or in a compressed body the length its 8-byte prefix declares
 * (-1: the rest is stored as it is). Every declared length counts towards the batch's limit.
 */
function bufferContentLength(
  cursor: BatchCursor,
  column: Column,
  role: string,
  offset: number,
  size: number,
): number {
  if (cursor.codec === undefined || size === 0) return size;
  const { where } = cursor;
  if (size < 8) {
    throw new Corrupt(
      `${where}: column ${column.path}'s compressed ${role} buffer of ${size} bytes has no length prefix`,
    );
  }
  const at = cursor.bodyStart + offset;
  const declared = Number(view(cursor.bytes).getBigInt64(at, true));
  const length = declared === UNCOMPRESSED_BUFFER ? size - 8 : declared;
  if (!(length >= 0)) {
    throw new Corrupt(
      `${where}: column ${column.path}'s ${role} buffer declares ${declared} bytes uncompressed`,
    );
  }
  cursor.declared += length;
  if (cursor.declared > MAX_UNCOMPRESSED_BATCH_BYTES) {
    throw new Corrupt(
      `${where} declares more than ${MAX_UNCOMPRESSED_BATCH_BYTES} bytes once decompressed, more than mal decompresses in one record batch`,
    );
  }
  return length;
}

/** Checks one column and its children against the batch's nodes and buffers; returns its row count. */
function checkColumn(cursor: BatchCursor, column: Column): number {
  const { where } = cursor;
  if (cursor.node >= cursor.nodes.length)
    throw new Corrupt(`${where} has no field node for column ${column.path}`);
  const at = cursor.nodes.start + 16 * cursor.node;
  cursor.node += 1;
  const length = cursor.table.int64At(at);
  const nulls = cursor.table.int64At(at + 8);
  if (!(length >= 0 && length <= cursor.capacity * 8 + 8)) {
    throw new Corrupt(
      cursor.codec === undefined
        ? `${where}: column ${column.path} claims ${length} values, more than its body of ${cursor.bodyLength} bytes holds`
        : `${where}: column ${column.path} claims ${length} values, more than mal decompresses in one record batch`,
    );
  }
  if (!(nulls >= 0 && nulls <= length)) {
    throw new Corrupt(`${where}: column ${column.path} claims ${nulls} nulls in ${length} values`);
  }
  const { layout } = column;
  /** Checks the next buffer holds `needed` bytes; `word` > 1 marks its words for big-endian conversion. */
  const buffer = (role: string, needed: number, word = 1): void => {
    if (cursor.buffer >= cursor.buffers.length) {
      throw new Corrupt(`${where}: column ${column.path} has no ${role} buffer`);
    }
    const slot = cursor.buffers.start + 16 * cursor.buffer;
    cursor.buffer += 1;
    const offset = cursor.table.int64At(slot);
    const size = cursor.table.int64At(slot + 8);
    if (!(offset >= 0 && size >= 0 && offset + size <= cursor.bodyLength)) {
      throw new Corrupt(
        `${where}: column ${column.path}'s ${role} buffer [${offset}, +${size}] lies outside the body of ${cursor.bodyLength} bytes`,
      );
    }
    const content = bufferContentLength(cursor, column, role, offset, size);
    if (content < needed) {
      const holds =
        cursor.codec === undefined
          ? `${content} bytes`
          : `${content} bytes once decompressed (${cursor.codec})`;
      throw new Corrupt(
        `${where}: column ${column.path} claims ${length} values but its ${role} buffer holds ${holds} of the ${needed} they need (truncated or patched row count?)`,
      );
    }
    if (cursor.framing.bigEndian && word > 1 && needed > 0) {
      cursor.framing.words.push({ start: cursor.bodyStart + offset, length: needed - (needed % word), word });
    }
  };
  if (layout.kind === 'null') return length;
  buffer('validity', nulls > 0 ? Math.ceil(length / 8) : 0);
  switch (layout.kind) {
    case 'fixed':
      buffer('values', Math.ceil((length * layout.bits) / 8), layout.word);
      break;
    case 'variable':
      buffer('offsets', length > 0 ? (length + 1) * layout.offsetBytes : 0, layout.offsetBytes);
      buffer('data', 0);
      break;
    case 'list':
      buffer('offsets', length > 0 ? (length + 1) * layout.offsetBytes : 0, layout.offsetBytes);
      checkColumn(cursor, column.children[0]);
      break;
    case 'fixed-list': {
      const items = checkColumn(cursor, column.children[0]);
      if (items !== length * layout.size) {
        throw new Corrupt(
          `${where}: column ${column.path} holds ${length} lists of ${layout.size} but its items column has ${items} values`,
        );
      }
      break;
    }
    case 'struct':
      for (const child of column.children) {
        const childLength = checkColumn(cursor, child);
        if (childLength < length) {
          throw new Corrupt(
            `${where}: column ${child.path} has ${childLength} values, fewer than its struct's ${length}`,
          );
        }
      }
      break;
  }
  return length;
}
