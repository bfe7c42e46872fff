import {
  type Data,
  type DataType,
  Field,
  Float32,
  Float64,
  Int8,
  Int16,
  Int32,
  Int64,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Table,
  tableFromIPC,
  tableToIPC,
  Uint8,
  Uint16,
  Uint32,
  Uint64,
} from 'apache-arrow';
import { InvalidFileError } from '../errors.js';
import { byteLength, type DType, isDType } from '../tensor/dtype.js';
import { elementCount, type RawTensor, shapeToString } from '../tensor/tensor.js';
import { checkArrowIPC } from './arrow-ipc-check.js';
import type { NamedTensor } from './named-tensor.js';

/**
 * The message workers exchange a tensor in: an Arrow IPC stream with one record batch of one flat, non-null
 * column, with name, dtype and shape in the schema metadata. F16 and BF16 travel as their raw 16-bit words in a
 * Uint16 column (Arrow has no BF16, and keeping both the same avoids a conversion); BOOL, FP8, C64 and the packed
 * F4 and F6 travel as their raw bytes in a Uint8 column.
 */
export const ARROW_NAME_KEY = 'mal.tensor.name';
export const ARROW_DTYPE_KEY = 'mal.tensor.dtype';
export const ARROW_SHAPE_KEY = 'mal.tensor.shape';
const COLUMN = 'values';

interface ColumnCodec {
  readonly type: () => DataType;
  /** Bytes of one column value: the element's for native types, 1 where raw bytes travel. */
  readonly unitBytes: number;
  readonly column: (buffer: ArrayBufferLike, byteOffset: number, length: number) => Data;
}

type TypedArrayOf<T> = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => T;

function native<T extends DataType>(
  make: () => T,
  array: TypedArrayOf<T['TArray']>,
  unitBytes: number,
): ColumnCodec {
  return {
    type: make,
    unitBytes,
    // makeData's overloads pick its props type from a concrete DataType; for a generic T none applies, though
    // `data` of T['TArray'] is what every one of them takes.
    column: (b, o, n) =>
      makeData({ type: make(), length: n, nullCount: 0, data: new array(b, o, n) } as never),
  };
}

/** Raw bytes in a Uint8 column, for dtypes Arrow has no type for (FP8, C64, the packed F4 and F6). */
const RAW = native(() => new Uint8(), Uint8Array, 1);

const CODECS: Readonly<Record<DType, ColumnCodec>> = {
  F64: native(() => new Float64(), Float64Array, 8),
  F32: native(() => new Float32(), Float32Array, 4),
  F16: native(() => new Uint16(), Uint16Array, 2),
  BF16: native(() => new Uint16(), Uint16Array, 2),
  I64: native(() => new Int64(), BigInt64Array, 8),
  U64: native(() => new Uint64(), BigUint64Array, 8),
  I32: native(() => new Int32(), Int32Array, 4),
  U32: native(() => new Uint32(), Uint32Array, 4),
  I16: native(() => new Int16(), Int16Array, 2),
  U16: native(() => new Uint16(), Uint16Array, 2),
  I8: native(() => new Int8(), Int8Array, 1),
  U8: RAW,
  BOOL: RAW,
  F8_E4M3: RAW,
  F8_E5M2: RAW,
  F8_E4M3FNUZ: RAW,
  F8_E5M2FNUZ: RAW,
  F8_E8M0: RAW,
  C64: RAW,
  F4: RAW,
  F6_E2M3: RAW,
  F6_E3M2: RAW,
};

/** The tensor as its Arrow column, viewing its bytes, or a copy of them when they are unaligned. */
function columnOf(t: RawTensor, length: number): Data {
  const codec = CODECS[t.dtype];
  const bytes = t.bytes.byteOffset % codec.unitBytes === 0 ? t.bytes : t.bytes.slice();
  return codec.column(bytes.buffer, bytes.byteOffset, length);
}

/** Bytes of the tensor, or a RangeError naming it when its elements do not fill whole bytes. */
function tensorBytes(name: string, dtype: DType, shape: readonly number[]): number {
  const bytes = byteLength(dtype, elementCount(shape));
  if (bytes === undefined)
    throw new RangeError(`tensor '${name}': ${dtype} ${shapeToString(shape)} does not fill whole bytes`);
  return bytes;
}

/** Encodes one tensor as an Arrow IPC stream (one copy of the elements, into the message). */
export function tensorToArrowIPC(name: string, t: RawTensor): Uint8Array {
  const expected = tensorBytes(name, t.dtype, t.shape);
  const n = expected / CODECS[t.dtype].unitBytes;
  if (t.bytes.length !== expected) {
    throw new RangeError(
      `tensor '${name}': ${t.dtype} ${shapeToString(t.shape)} needs ${expected} bytes, has ${t.bytes.length}`,
    );
  }
  const column = columnOf(t, n);
  const metadata = new Map([
    [ARROW_NAME_KEY, name],
    [ARROW_DTYPE_KEY, t.dtype],
    [ARROW_SHAPE_KEY, JSON.stringify(t.shape)],
  ]);
  const schema = new Schema([new Field(COLUMN, column.type, false)], metadata);
  const rows = makeData({ type: new Struct(schema.fields), length: n, nullCount: 0, children: [column] });
  return tableToIPC(new Table([new RecordBatch(schema, rows)]), 'stream');
}

function parseShape(source: string, text: string | undefined, name: string): number[] {
  let shape: unknown;
  try {
    shape = JSON.parse(text ?? '');
  } catch {
    throw new InvalidFileError(source, `'${ARROW_SHAPE_KEY}' metadata is missing or not JSON`, name);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new InvalidFileError(
      source,
      `'${ARROW_SHAPE_KEY}' must be an array of non-negative integers`,
      name,
    );
  }
  return shape;
}

/**
 * Decodes a message written by tensorToArrowIPC. Zero-copy: the returned bytes are a view into `bytes` (when the
 * message's buffers are aligned, as those written here are). `source` names the message in errors.
 */
export function tensorFromArrowIPC(bytes: Uint8Array, source = 'Arrow IPC tensor message'): NamedTensor {
  checkArrowIPC(bytes, source, { notArrow: 'not an Arrow IPC stream' });
  let table: Table;
  try {
    table = tableFromIPC(bytes);
  } catch (error) {
    throw new InvalidFileError(source, `not an Arrow IPC stream (${(error as Error).message})`);
  }
  const metadata = table.schema.metadata;
  const name = metadata.get(ARROW_NAME_KEY);
  if (name === undefined) throw new InvalidFileError(source, `no '${ARROW_NAME_KEY}' in the schema metadata`);
  const dtype = metadata.get(ARROW_DTYPE_KEY);
  if (!isDType(dtype)) {
    throw new InvalidFileError(
      source,
      `'${ARROW_DTYPE_KEY}' metadata is missing or unknown: ${JSON.stringify(dtype)}`,
      name,
    );
  }
  const shape = parseShape(source, metadata.get(ARROW_SHAPE_KEY), name);
  if (table.batches.length !== 1 || table.numCols !== 1) {
    throw new InvalidFileError(
      source,
      `expected one record batch of one column, got ${table.batches.length} batch(es) of ${table.numCols} column(s)`,
      name,
    );
  }
  const column = table.batches[0].data.children[0];
  // Type names spell out width and signedness (Float32, Uint16, Int64), so comparing them compares the types.
  if (String(column.type) !== String(CODECS[dtype].type())) {
    throw new InvalidFileError(source, `column type ${String(column.type)} does not carry ${dtype}`, name);
  }
  if (column.nullCount !== 0) throw new InvalidFileError(source, 'column holds nulls', name);
  const size = CODECS[dtype].unitBytes;
  const byteCount = byteLength(dtype, elementCount(shape));
  if (byteCount === undefined || column.length * size !== byteCount) {
    throw new InvalidFileError(
      source,
      `shape ${shapeToString(shape)} of ${dtype} does not match the column's ${column.length} values`,
      name,
    );
  }
  const values = column.values as ArrayBufferView;
  // The reader pads values to 8 bytes; keep exactly the column's elements.
  const start = values.byteOffset + column.offset * size;
  return { name, tensor: { dtype, shape, bytes: new Uint8Array(values.buffer, start, byteCount) } };
}
