import {
  type Data,
  DataType,
  Field,
  FixedSizeList,
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
  tableToIPC,
  Uint8,
  Uint16,
  Uint32,
  Uint64,
} from 'apache-arrow';
import { InvalidFileError } from '../errors.js';
import { byteLength, type DType, isDType } from '../tensor/dtype.js';
import { elementCount, type RawTensor, shapeToString } from '../tensor/tensor.js';
import { readArrowIPC } from './arrow-ipc-read.js';
import {
  describeElement,
  ELEMENT_TYPES,
  type ElementType,
  EXTENSION_METADATA_KEY,
  EXTENSION_NAME_KEY,
  elementReading,
  FIXED_SHAPE_TENSOR,
} from './arrow-tensor-dtypes.js';
import type { NamedTensor } from './named-tensor.js';

/*
 * The message workers exchange a tensor in: an Arrow IPC stream of one record batch, in one of two layouts
 * (docs/formats.md, "Arrow tensor messages"):
 *
 * - fixed-shape (written for every dtype with whole-byte elements): one column of Arrow's canonical extension
 *   `arrow.fixed_shape_tensor`, named after the tensor, holding one row: a FixedSizeList of the elements, with
 *   `{"shape":[…]}` as its extension metadata. The value type is Arrow's own where Arrow has one (F16 is
 *   halffloat, BOOL is bool), or a project extension on the raw bytes (arrow-tensor-dtypes.ts); the schema
 *   metadata repeats the dtype as `mal.tensor.dtype` (optional when reading, checked when present);
 * - flat (written for F4 and F6, whose elements share bytes, and for tensors of more elements than a
 *   FixedSizeList holds; read in every case, as earlier versions wrote it): one flat non-null column with the
 *   name, dtype and shape in the schema metadata (`mal.tensor.*`); F16 and BF16 as Uint16 words, BOOL, FP8, C64,
 *   F4 and F6 as their raw bytes in a Uint8 column.
 *
 * Either may be split over several record batches (a fixed-shape column then holds its one row in one of them),
 * compressed (LZ4_FRAME, ZSTD) or big-endian; readArrowIPC deals with those.
 */
export const ARROW_NAME_KEY = 'mal.tensor.name';
export const ARROW_DTYPE_KEY = 'mal.tensor.dtype';
export const ARROW_SHAPE_KEY = 'mal.tensor.shape';
const FLAT_COLUMN = 'values';
const ITEM_FIELD = 'item';
/** A FixedSizeList's size is an int32. */
const MAX_LIST_SIZE = 2 ** 31 - 1;
const NOT_ARROW = { notArrow: 'not an Arrow IPC stream or file' };

interface FlatCodec {
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
): FlatCodec {
  return {
    type: make,
    unitBytes,
    // makeData's overloads pick its props type from a concrete DataType; for a generic T none applies, though
    // `data` of T['TArray'] is what every one of them takes.
    column: (b, o, n) =>
      makeData({ type: make(), length: n, nullCount: 0, data: new array(b, o, n) } as never),
  };
}

/** Raw bytes in a Uint8 column, for dtypes the flat layout has no type for (FP8, C64, the packed F4 and F6). */
const RAW = native(() => new Uint8(), Uint8Array, 1);

const FLAT_CODECS: Readonly<Record<DType, FlatCodec>> = {
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

/** The tensor's bytes, or a copy of them when they are not aligned to `unit` bytes. */
function aligned(bytes: Uint8Array, unit: number): Uint8Array {
  return unit > 1 && bytes.byteOffset % unit !== 0 ? bytes.slice() : bytes;
}

/** Bytes of the tensor, or a RangeError naming it when its elements do not fill whole bytes. */
function tensorBytes(name: string, dtype: DType, shape: readonly number[]): number {
  const bytes = byteLength(dtype, elementCount(shape));
  if (bytes === undefined)
    throw new RangeError(`tensor '${name}': ${dtype} ${shapeToString(shape)} does not fill whole bytes`);
  return bytes;
}

function oneBatchStream(schema: Schema, children: Data[], length: number): Uint8Array {
  const rows = makeData({ type: new Struct(schema.fields), length, nullCount: 0, children });
  return tableToIPC(new Table([new RecordBatch(schema, rows)]), 'stream');
}

/** BOOL bytes (0 false, anything else true) as Arrow's bitmap, least significant bit first. */
function packBits(bytes: Uint8Array): Uint8Array {
  const bits = new Uint8Array(Math.ceil(bytes.length / 8));
  for (let k = 0; k < bytes.length; k += 1) if (bytes[k] !== 0) bits[k >> 3] |= 1 << (k & 7);
  return bits;
}

function unpackBits(bits: Uint8Array, firstBit: number, count: number): Uint8Array {
  const bytes = new Uint8Array(count);
  for (let k = 0; k < count; k += 1) {
    const at = firstBit + k;
    bytes[k] = (bits[at >> 3] >> (at & 7)) & 1;
  }
  return bytes;
}

function fixedShapeMessage(name: string, t: RawTensor, element: ElementType, count: number): Uint8Array {
  const data =
    element.bytes === 0
      ? packBits(t.bytes)
      : (() => {
          const bytes = aligned(t.bytes, element.bytes);
          return element.view(bytes.buffer, bytes.byteOffset, count);
        })();
  const items = makeData({ type: element.type(), length: count, nullCount: 0, data } as never) as Data;
  const itemMetadata =
    element.extension === undefined
      ? undefined
      : new Map([
          [EXTENSION_NAME_KEY, element.extension],
          [EXTENSION_METADATA_KEY, ''],
        ]);
  const listType = new FixedSizeList(count, new Field(ITEM_FIELD, items.type, false, itemMetadata));
  const list = makeData({ type: listType, length: 1, nullCount: 0, child: items });
  const field = new Field(
    name,
    listType,
    false,
    new Map([
      [EXTENSION_NAME_KEY, FIXED_SHAPE_TENSOR],
      [EXTENSION_METADATA_KEY, JSON.stringify({ shape: t.shape })],
    ]),
  );
  // The dtype also in the schema metadata: Arrow C++ (so pyarrow) rebuilds a fixed_shape_tensor's storage from
  // its value type alone, dropping the value field's extension name (mal.bfloat16, …); schema metadata survives.
  return oneBatchStream(new Schema([field], new Map([[ARROW_DTYPE_KEY, t.dtype]])), [list], 1);
}

function flatMessage(name: string, t: RawTensor, bytes: number): Uint8Array {
  const codec = FLAT_CODECS[t.dtype];
  const data = aligned(t.bytes, codec.unitBytes);
  const n = bytes / codec.unitBytes;
  const column = codec.column(data.buffer, data.byteOffset, n);
  const metadata = new Map([
    [ARROW_NAME_KEY, name],
    [ARROW_DTYPE_KEY, t.dtype],
    [ARROW_SHAPE_KEY, JSON.stringify(t.shape)],
  ]);
  return oneBatchStream(new Schema([new Field(FLAT_COLUMN, column.type, false)], metadata), [column], n);
}

/**
 * Encodes one tensor as an Arrow IPC stream (one copy of the elements, into the message): an
 * `arrow.fixed_shape_tensor` column named `name`, or the flat layout for F4 and F6 (see above).
 */
export function tensorToArrowIPC(name: string, t: RawTensor): Uint8Array {
  const expected = tensorBytes(name, t.dtype, t.shape);
  if (t.bytes.length !== expected) {
    throw new RangeError(
      `tensor '${name}': ${t.dtype} ${shapeToString(t.shape)} needs ${expected} bytes, has ${t.bytes.length}`,
    );
  }
  const element = ELEMENT_TYPES[t.dtype];
  const count = elementCount(t.shape);
  if (element === undefined || count > MAX_LIST_SIZE) return flatMessage(name, t, expected);
  return fixedShapeMessage(name, t, element, count);
}

function isShape(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((d) => Number.isSafeInteger(d) && d >= 0);
}

function parseShape(source: string, text: string | undefined, name: string): number[] {
  let shape: unknown;
  try {
    shape = JSON.parse(text ?? '');
  } catch {
    throw new InvalidFileError(source, `'${ARROW_SHAPE_KEY}' metadata is missing or not JSON`, name);
  }
  if (!isShape(shape)) {
    throw new InvalidFileError(
      source,
      `'${ARROW_SHAPE_KEY}' must be an array of non-negative integers`,
      name,
    );
  }
  return shape;
}

/** The shape in a fixed_shape_tensor's extension metadata; a permutation other than the identity is refused. */
function parseTensorMetadata(source: string, text: string | undefined, name: string): number[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text ?? '');
  } catch {
    throw new InvalidFileError(
      source,
      `the ${FIXED_SHAPE_TENSOR} column's '${EXTENSION_METADATA_KEY}' is missing or not JSON`,
      name,
    );
  }
  const { shape, permutation } = (parsed ?? {}) as { shape?: unknown; permutation?: unknown };
  if (!isShape(shape)) {
    throw new InvalidFileError(
      source,
      `the ${FIXED_SHAPE_TENSOR} metadata's "shape" must be an array of non-negative integers, got ${JSON.stringify(shape)}`,
      name,
    );
  }
  if (permutation !== undefined && permutation !== null) {
    const identity = Array.isArray(permutation) && permutation.every((axis, k) => axis === k);
    if (!identity || permutation.length !== shape.length) {
      throw new InvalidFileError(
        source,
        `the ${FIXED_SHAPE_TENSOR} metadata's "permutation" ${JSON.stringify(permutation)} reorders the axes; mal reads tensors in their physical (row-major) order only`,
        name,
      );
    }
  }
  return shape;
}

/** The non-empty record batches' data of column 0. */
function columnChunks(table: Table): Data[] {
  return table.batches.filter((batch) => batch.numRows > 0).map((batch) => batch.data.children[0]);
}

function readFixedShape(table: Table, source: string): NamedTensor {
  const field = table.schema.fields[0];
  const name = field.name;
  const shape = parseTensorMetadata(source, field.metadata.get(EXTENSION_METADATA_KEY), name);
  const type = field.type;
  if (!DataType.isFixedSizeList(type)) {
    throw new InvalidFileError(
      source,
      `a ${FIXED_SHAPE_TENSOR} column must be a FixedSizeList, this one is ${String(type)}`,
      name,
    );
  }
  const count = elementCount(shape);
  if (type.listSize !== count) {
    throw new InvalidFileError(
      source,
      `shape ${shapeToString(shape)} holds ${count} elements but the FixedSizeList holds ${type.listSize}`,
      name,
    );
  }
  const itemField = type.children[0];
  const extension = itemField.metadata.get(EXTENSION_NAME_KEY);
  const reading = elementReading(itemField.type, extension);
  if (reading === undefined) {
    throw new InvalidFileError(
      source,
      `value type ${describeElement(itemField.type, extension)} is not one mal reads (see docs/formats.md, "Arrow tensor messages")`,
      name,
    );
  }
  const declared = table.schema.metadata.get(ARROW_DTYPE_KEY);
  if (declared !== undefined && declared !== reading.dtype) {
    throw new InvalidFileError(
      source,
      `'${ARROW_DTYPE_KEY}' metadata says ${declared} but the value type ${describeElement(itemField.type, extension)} holds ${reading.dtype}`,
      name,
    );
  }
  const chunks = columnChunks(table);
  const rows = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  if (rows !== 1) {
    throw new InvalidFileError(
      source,
      `the ${FIXED_SHAPE_TENSOR} column holds ${rows} tensors; a tensor message holds one`,
      name,
    );
  }
  const list = chunks[0];
  const items = list.children[0];
  if (list.nullCount !== 0 || items.nullCount !== 0) {
    throw new InvalidFileError(source, 'the tensor holds nulls', name);
  }
  const { dtype, element } = reading;
  const values = items.values as ArrayBufferView;
  if (element.bytes === 0) {
    return { name, tensor: { dtype, shape, bytes: unpackBits(values as Uint8Array, items.offset, count) } };
  }
  // The reader hands back the list's values from the row's first element: keep exactly the tensor's bytes.
  const view = new Uint8Array(values.buffer, values.byteOffset, count * element.bytes);
  const bytes = reading.bool8 ? view.map((b) => (b === 0 ? 0 : 1)) : view;
  return { name, tensor: { dtype, shape, bytes } };
}

function readFlat(table: Table, source: string): NamedTensor {
  const metadata = table.schema.metadata;
  const name = metadata.get(ARROW_NAME_KEY);
  if (name === undefined) {
    throw new InvalidFileError(
      source,
      `no '${ARROW_NAME_KEY}' in the schema metadata, and the column is not an ${FIXED_SHAPE_TENSOR}`,
    );
  }
  const dtype = metadata.get(ARROW_DTYPE_KEY);
  if (!isDType(dtype)) {
    throw new InvalidFileError(
      source,
      `'${ARROW_DTYPE_KEY}' metadata is missing or unknown: ${JSON.stringify(dtype)}`,
      name,
    );
  }
  const shape = parseShape(source, metadata.get(ARROW_SHAPE_KEY), name);
  const codec = FLAT_CODECS[dtype];
  const type = table.schema.fields[0].type;
  // Type names spell out width and signedness (Float32, Uint16, Int64), so comparing them compares the types.
  if (String(type) !== String(codec.type())) {
    throw new InvalidFileError(source, `column type ${String(type)} does not carry ${dtype}`, name);
  }
  const chunks = columnChunks(table);
  const length = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  const size = codec.unitBytes;
  const byteCount = byteLength(dtype, elementCount(shape));
  if (byteCount === undefined || length * size !== byteCount) {
    throw new InvalidFileError(
      source,
      `shape ${shapeToString(shape)} of ${dtype} does not match the column's ${length} values`,
      name,
    );
  }
  if (chunks.some((chunk) => chunk.nullCount !== 0))
    throw new InvalidFileError(source, 'column holds nulls', name);
  // The reader pads values to 8 bytes; keep exactly each chunk's elements.
  const parts = chunks.map((chunk) => {
    const values = chunk.values as ArrayBufferView;
    return new Uint8Array(values.buffer, values.byteOffset, chunk.length * size);
  });
  if (parts.length === 1) return { name, tensor: { dtype, shape, bytes: parts[0] } };
  // A tensor split over record batches: its parts in order, in one buffer.
  const bytes = new Uint8Array(byteCount);
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.length;
  }
  return { name, tensor: { dtype, shape, bytes } };
}

/**
 * Decodes a tensor message in either layout (see above). Zero-copy where it can be: the returned bytes are a
 * view into `bytes` when the message is one uncompressed little-endian batch with aligned buffers (as those
 * written here are) and not bit-packed BOOL. `source` names the message in errors.
 */
export function tensorFromArrowIPC(bytes: Uint8Array, source = 'Arrow IPC tensor message'): NamedTensor {
  const table = readArrowIPC(bytes, source, NOT_ARROW);
  if (table.numCols !== 1) {
    throw new InvalidFileError(
      source,
      `expected one column (one tensor), got ${table.numCols} column(s): ${table.schema.fields.map((f) => f.name).join(', ')}`,
      table.schema.metadata.get(ARROW_NAME_KEY),
    );
  }
  const extension = table.schema.fields[0].metadata.get(EXTENSION_NAME_KEY);
  if (extension === FIXED_SHAPE_TENSOR) return readFixedShape(table, source);
  if (extension !== undefined) {
    throw new InvalidFileError(
      source,
      `column '${table.schema.fields[0].name}' is of extension type '${extension}', not ${FIXED_SHAPE_TENSOR}`,
    );
  }
  return readFlat(table, source);
}
