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
} from 'apache-arrow';
import { InvalidFileError } from '../errors.js';
import { DTYPE_BYTES, type DType, isDType } from '../tensor/dtype.js';
import { elementCount, type RawTensor, shapeToString } from '../tensor/tensor.js';
import { checkArrowIPC } from './arrow-ipc-check.js';
import type { NamedTensor } from './named-tensor.js';

/**
 * The message workers exchange a tensor in: an Arrow IPC stream with one record batch of one flat, non-null
 * column, with name, dtype and shape in the schema metadata. F16 and BF16 travel as their raw 16-bit words in a
 * Uint16 column (Arrow has no BF16, and keeping both the same avoids a conversion); BOOL travels as Uint8 bytes.
 */
export const ARROW_NAME_KEY = 'mal.tensor.name';
export const ARROW_DTYPE_KEY = 'mal.tensor.dtype';
export const ARROW_SHAPE_KEY = 'mal.tensor.shape';
const COLUMN = 'values';

interface ColumnCodec {
  readonly type: () => DataType;
  readonly column: (buffer: ArrayBufferLike, byteOffset: number, length: number) => Data;
}

const CODECS: Readonly<Record<DType, ColumnCodec>> = {
  F64: {
    type: () => new Float64(),
    column: (b, o, n) =>
      makeData({ type: new Float64(), length: n, nullCount: 0, data: new Float64Array(b, o, n) }),
  },
  F32: {
    type: () => new Float32(),
    column: (b, o, n) =>
      makeData({ type: new Float32(), length: n, nullCount: 0, data: new Float32Array(b, o, n) }),
  },
  F16: {
    type: () => new Uint16(),
    column: (b, o, n) =>
      makeData({ type: new Uint16(), length: n, nullCount: 0, data: new Uint16Array(b, o, n) }),
  },
  BF16: {
    type: () => new Uint16(),
    column: (b, o, n) =>
      makeData({ type: new Uint16(), length: n, nullCount: 0, data: new Uint16Array(b, o, n) }),
  },
  I64: {
    type: () => new Int64(),
    column: (b, o, n) =>
      makeData({ type: new Int64(), length: n, nullCount: 0, data: new BigInt64Array(b, o, n) }),
  },
  I32: {
    type: () => new Int32(),
    column: (b, o, n) =>
      makeData({ type: new Int32(), length: n, nullCount: 0, data: new Int32Array(b, o, n) }),
  },
  I16: {
    type: () => new Int16(),
    column: (b, o, n) =>
      makeData({ type: new Int16(), length: n, nullCount: 0, data: new Int16Array(b, o, n) }),
  },
  I8: {
    type: () => new Int8(),
    column: (b, o, n) =>
      makeData({ type: new Int8(), length: n, nullCount: 0, data: new Int8Array(b, o, n) }),
  },
  U8: {
    type: () => new Uint8(),
    column: (b, o, n) =>
      makeData({ type: new Uint8(), length: n, nullCount: 0, data: new Uint8Array(b, o, n) }),
  },
  BOOL: {
    type: () => new Uint8(),
    column: (b, o, n) =>
      makeData({ type: new Uint8(), length: n, nullCount: 0, data: new Uint8Array(b, o, n) }),
  },
};

/** The tensor as its Arrow column, viewing its bytes, or a copy of them when they are unaligned. */
function columnOf(t: RawTensor, n: number): Data {
  const bytes = t.bytes.byteOffset % DTYPE_BYTES[t.dtype] === 0 ? t.bytes : t.bytes.slice();
  return CODECS[t.dtype].column(bytes.buffer, bytes.byteOffset, n);
}

/** Encodes one tensor as an Arrow IPC stream (one copy of the elements, into the message). */
export function tensorToArrowIPC(name: string, t: RawTensor): Uint8Array {
  const n = elementCount(t.shape);
  const expected = n * DTYPE_BYTES[t.dtype];
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
  const n = elementCount(shape);
  if (column.length !== n) {
    throw new InvalidFileError(
      source,
      `shape ${shapeToString(shape)} holds ${n} elements but the column has ${column.length}`,
      name,
    );
  }
  const values = column.values as ArrayBufferView;
  const size = DTYPE_BYTES[dtype];
  // The reader pads values to 8 bytes; keep exactly the column's elements.
  const start = values.byteOffset + column.offset * size;
  return { name, tensor: { dtype, shape, bytes: new Uint8Array(values.buffer, start, n * size) } };
}
