import {
  type Data,
  type DataType,
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
  tableFromIPC,
  tableToIPC,
  Uint8,
  Uint16,
  Uint32,
  Uint64,
} from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { InvalidFileError } from '../../src/errors.js';
import { tensorFromArrowIPC, tensorToArrowIPC } from '../../src/io/arrow-tensor.js';
import { FlatTable } from '../../src/io/flatbuffer-reader.js';
import type { DType } from '../../src/tensor/dtype.js';
import type { RawTensor } from '../../src/tensor/tensor.js';

/** Every dtype and the bytes of 6 of its elements (F4: two a byte; F6: four in three bytes). */
const SIZES: Array<[DType, number]> = [
  ['F64', 48],
  ['F32', 24],
  ['F16', 12],
  ['BF16', 12],
  ['I64', 48],
  ['I32', 24],
  ['I16', 12],
  ['I8', 6],
  ['U64', 48],
  ['U32', 24],
  ['U16', 12],
  ['U8', 6],
  ['F8_E4M3', 6],
  ['F8_E5M2', 6],
  ['F8_E4M3FNUZ', 6],
  ['F8_E5M2FNUZ', 6],
  ['F8_E8M0', 6],
  ['C64', 48],
  ['F4', 3],
  ['F6_E2M3', 4.5],
  ['F6_E3M2', 4.5],
];

/** An Arrow stream built directly with apache-arrow, to feed the decoder messages its encoder would not write. */
function handMadeMessage(
  metadata: Record<string, string>,
  values: Float32Array | Int32Array,
  columns = 1,
): Uint8Array {
  const type = values instanceof Float32Array ? new Float32() : new Int32();
  const column =
    values instanceof Float32Array
      ? makeData({ type: new Float32(), length: values.length, nullCount: 0, data: values })
      : makeData({ type: new Int32(), length: values.length, nullCount: 0, data: values });
  const fields = Array.from({ length: columns }, (_, i) => new Field(`c${i}`, type, false));
  const schema = new Schema(fields, new Map(Object.entries(metadata)));
  const rows = makeData({
    type: new Struct(fields),
    length: values.length,
    nullCount: 0,
    children: fields.map(() => column),
  });
  return tableToIPC(new Table([new RecordBatch(schema, rows)]), 'stream');
}

/** The flat layout's column type for each dtype, as earlier versions wrote it. */
function flatColumn(dtype: DType, raw: Uint8Array): Data {
  const b = raw.slice().buffer;
  const n = (width: number): number => raw.length / width;
  const make = (type: DataType, data: ArrayBufferView): Data =>
    makeData({
      type,
      length: data.byteLength / (type instanceof Uint8 ? 1 : (data as Float32Array).BYTES_PER_ELEMENT),
      nullCount: 0,
      data,
    } as never) as Data;
  switch (dtype) {
    case 'F64':
      return make(new Float64(), new Float64Array(b, 0, n(8)));
    case 'F32':
      return make(new Float32(), new Float32Array(b, 0, n(4)));
    case 'F16':
    case 'BF16':
    case 'U16':
      return make(new Uint16(), new Uint16Array(b, 0, n(2)));
    case 'I64':
      return make(new Int64(), new BigInt64Array(b, 0, n(8)));
    case 'U64':
      return make(new Uint64(), new BigUint64Array(b, 0, n(8)));
    case 'I32':
      return make(new Int32(), new Int32Array(b, 0, n(4)));
    case 'U32':
      return make(new Uint32(), new Uint32Array(b, 0, n(4)));
    case 'I16':
      return make(new Int16(), new Int16Array(b, 0, n(2)));
    case 'I8':
      return make(new Int8(), new Int8Array(b, 0, n(1)));
    default:
      return make(new Uint8(), new Uint8Array(b));
  }
}

/** A flat-layout stream, one record batch per chunk (apache-arrow writes a Table's batches as they are). */
function handMadeFlat(metadata: Record<string, string>, chunks: Data[]): Uint8Array {
  const schema = new Schema([new Field('values', chunks[0].type, false)], new Map(Object.entries(metadata)));
  const batches = chunks.map(
    (chunk) =>
      new RecordBatch(
        schema,
        makeData({ type: new Struct(schema.fields), length: chunk.length, nullCount: 0, children: [chunk] }),
      ),
  );
  return tableToIPC(new Table(batches), 'stream');
}

/** A fixed_shape_tensor stream built by hand: `rows` lists of `values`' elements split evenly. */
function handMadeTensor(
  extension: Record<string, string>,
  items: Data,
  rows = 1,
  itemMetadata?: Record<string, string>,
  listSize = items.length / rows,
): Uint8Array {
  const listType = new FixedSizeList(
    listSize,
    new Field('item', items.type, false, itemMetadata && new Map(Object.entries(itemMetadata))),
  );
  const field = new Field('t', listType, false, new Map(Object.entries(extension)));
  const list = makeData({ type: listType, length: rows, nullCount: 0, child: items });
  const schema = new Schema([field]);
  const batch = new RecordBatch(
    schema,
    makeData({ type: new Struct([field]), length: rows, nullCount: 0, children: [list] }),
  );
  return tableToIPC(new Table([batch]), 'stream');
}

const TENSOR = { 'ARROW:extension:name': 'arrow.fixed_shape_tensor' };

function expectInvalid(bytes: Uint8Array, pattern: RegExp, tensor?: string): void {
  let error: unknown;
  try {
    tensorFromArrowIPC(bytes, 'worker 3 reply');
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(InvalidFileError);
  expect((error as InvalidFileError).message).toContain('worker 3 reply');
  expect((error as InvalidFileError).message).toMatch(pattern);
  expect((error as InvalidFileError).tensor).toBe(tensor);
}

describe('Arrow IPC tensor codec', () => {
  it.each(SIZES.filter(([, size]) => Number.isInteger(size)))('round-trips %s', (dtype, size) => {
    const bytes = Uint8Array.from({ length: size }, (_, k) => (k * 37 + 11) & 0xff);
    const t: RawTensor = { dtype, shape: [3, 2], bytes };
    const message = tensorToArrowIPC('layers.0.weight', t);
    const back = tensorFromArrowIPC(message);
    expect(back.name).toBe('layers.0.weight');
    expect(back.tensor.dtype).toBe(dtype);
    expect(back.tensor.shape).toEqual([3, 2]);
    expect(Array.from(back.tensor.bytes)).toEqual(Array.from(bytes));
  });

  it('round-trips BOOL (0 and 1 bytes) and the F6 types (shape [4, 2]: eight elements in six bytes)', () => {
    const bools = tensorFromArrowIPC(
      tensorToArrowIPC('m', {
        dtype: 'BOOL',
        shape: [3, 3],
        bytes: Uint8Array.of(1, 0, 0, 1, 1, 1, 0, 0, 1),
      }),
    );
    expect(bools.tensor).toEqual({
      dtype: 'BOOL',
      shape: [3, 3],
      bytes: Uint8Array.of(1, 0, 0, 1, 1, 1, 0, 0, 1),
    });
    for (const dtype of ['F6_E2M3', 'F6_E3M2'] as const) {
      const bytes = Uint8Array.of(1, 2, 3, 250, 251, 252);
      const back = tensorFromArrowIPC(tensorToArrowIPC('s', { dtype, shape: [4, 2], bytes }));
      expect(back.tensor).toEqual({ dtype, shape: [4, 2], bytes });
    }
  });

  it('decodes without copying: the tensor bytes are a view into the message', () => {
    const data = Float32Array.from({ length: 1000 }, (_, i) => i / 7);
    const message = tensorToArrowIPC('w', {
      dtype: 'F32',
      shape: [10, 100],
      bytes: new Uint8Array(data.buffer),
    });
    const { tensor } = tensorFromArrowIPC(message);
    expect(tensor.bytes.buffer).toBe(message.buffer);
    expect(tensor.bytes.byteOffset).toBeGreaterThan(message.byteOffset);
    expect(tensor.bytes.byteOffset + tensor.bytes.length).toBeLessThanOrEqual(
      message.byteOffset + message.length,
    );
    expect(Array.from(new Float32Array(tensor.bytes.buffer, tensor.bytes.byteOffset, 1000))).toEqual(
      Array.from(data),
    );
  });

  it('writes arrow.fixed_shape_tensor columns: F16 as halffloat, BOOL as bool, BF16 as mal.bfloat16 on uint16', () => {
    const f16 = tableFromIPC(
      tensorToArrowIPC('h', { dtype: 'F16', shape: [2, 1], bytes: Uint8Array.of(0x00, 0x3c, 0x00, 0xc0) }),
    );
    const field = f16.schema.fields[0];
    expect(field.name).toBe('h');
    expect(String(field.type)).toBe('FixedSizeList[2]<Float16>');
    expect(field.metadata.get('ARROW:extension:name')).toBe('arrow.fixed_shape_tensor');
    expect(field.metadata.get('ARROW:extension:metadata')).toBe('{"shape":[2,1]}');
    expect(f16.numRows).toBe(1);
    // 0x3c00 is 1.0 and 0xc000 is -2.0 in IEEE half precision.
    expect(Array.from(f16.getChildAt(0)!.get(0)!)).toEqual([1, -2]);
    const bools = tableFromIPC(
      tensorToArrowIPC('m', { dtype: 'BOOL', shape: [3], bytes: Uint8Array.of(1, 0, 1) }),
    );
    expect(String(bools.schema.fields[0].type)).toBe('FixedSizeList[3]<Bool>');
    expect(Array.from(bools.getChildAt(0)!.get(0)!)).toEqual([true, false, true]);
    const bf16 = tableFromIPC(
      tensorToArrowIPC('b', { dtype: 'BF16', shape: [2], bytes: Uint8Array.of(0x80, 0x3f, 0x00, 0xc0) }),
    );
    const item = (bf16.schema.fields[0].type as FixedSizeList).children[0];
    expect(String(item.type)).toBe('Uint16');
    expect(item.metadata.get('ARROW:extension:name')).toBe('mal.bfloat16');
    expect(Array.from(bf16.getChildAt(0)!.get(0)!.toArray() as Uint16Array)).toEqual([0x3f80, 0xc000]);
  });

  it('lays the schema out as Schema.fbs and the canonical extensions spec say (read with a bare FlatBuffers reader)', () => {
    /** The first field of a stream's schema message, and its value field. */
    const fieldsOf = (message: Uint8Array): { field: FlatTable; item: FlatTable } => {
      const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
      // Encapsulated message: continuation marker 0xFFFFFFFF, metadata length, then a Message table.
      expect(view.getUint32(0, true)).toBe(0xffffffff);
      const root = FlatTable.root(message.subarray(8, 8 + view.getInt32(4, true)));
      expect(root.uint8(1, 0)).toBe(1); // MessageHeader.Schema
      const schema = root.table(2)!;
      expect(schema.int16(0, 0)).toBe(0); // Endianness.Little
      const [field] = schema.tables(1);
      expect(field.uint8(2, 0)).toBe(16); // Type.FixedSizeList
      return { field, item: field.tables(5)[0] };
    };
    const pairs = (table: FlatTable, index: number): string[][] =>
      table.tables(index).map((pair) => [pair.string(0) ?? '', pair.string(1) ?? '']);
    // custom_metadata is field 6 of a Field, field 2 of a Schema.
    const keyValues = (field: FlatTable): string[][] => pairs(field, 6);
    const keyValues2 = (schema: FlatTable): string[][] => pairs(schema, 2);

    const half = fieldsOf(tensorToArrowIPC('h', { dtype: 'F16', shape: [2, 1], bytes: new Uint8Array(4) }));
    expect(half.field.string(0)).toBe('h');
    expect(half.field.table(3)!.int32(0, 0)).toBe(2); // listSize = product of the shape
    expect(keyValues(half.field)).toEqual([
      ['ARROW:extension:name', 'arrow.fixed_shape_tensor'],
      ['ARROW:extension:metadata', '{"shape":[2,1]}'],
    ]);
    expect(half.item.uint8(2, 0)).toBe(3); // Type.FloatingPoint
    expect(half.item.table(3)!.int16(0, 0)).toBe(0); // Precision.HALF
    expect(keyValues(half.item)).toEqual([]);

    const bools = fieldsOf(tensorToArrowIPC('m', { dtype: 'BOOL', shape: [9], bytes: new Uint8Array(9) }));
    expect(bools.item.uint8(2, 0)).toBe(6); // Type.Bool

    const bf16 = fieldsOf(tensorToArrowIPC('b', { dtype: 'BF16', shape: [3], bytes: new Uint8Array(6) }));
    expect(bf16.item.uint8(2, 0)).toBe(2); // Type.Int
    expect([bf16.item.table(3)!.int32(0, 0), bf16.item.table(3)!.uint8(1, 0)]).toEqual([16, 0]); // 16 bits, unsigned
    expect(keyValues(bf16.item)).toEqual([
      ['ARROW:extension:name', 'mal.bfloat16'],
      ['ARROW:extension:metadata', ''],
    ]);

    const c64Message = tensorToArrowIPC('c', { dtype: 'C64', shape: [1], bytes: new Uint8Array(8) });
    const c64 = fieldsOf(c64Message);
    expect(c64.item.uint8(2, 0)).toBe(15); // Type.FixedSizeBinary
    expect(c64.item.table(3)!.int32(0, 0)).toBe(8); // byteWidth
    expect(keyValues(c64.item)[0]).toEqual(['ARROW:extension:name', 'mal.complex64']);
    // The schema's own metadata: the dtype, for readers that drop the value field's extension name.
    const view = new DataView(c64Message.buffer, c64Message.byteOffset);
    const schema = FlatTable.root(c64Message.subarray(8, 8 + view.getInt32(4, true))).table(2)!;
    expect(keyValues2(schema)).toEqual([['mal.tensor.dtype', 'C64']]);
  });

  it('writes F4 and F6 in the flat layout, their bytes in a Uint8 column with mal.tensor.* metadata', () => {
    const f4 = tableFromIPC(
      tensorToArrowIPC('q', { dtype: 'F4', shape: [4], bytes: Uint8Array.of(0x21, 0x43) }),
    );
    expect(String(f4.schema.fields[0].type)).toBe('Uint8');
    expect(Object.fromEntries(f4.schema.metadata)).toEqual({
      'mal.tensor.name': 'q',
      'mal.tensor.dtype': 'F4',
      'mal.tensor.shape': '[4]',
    });
    expect(Array.from(f4.getChildAt(0)!.toArray() as Uint8Array)).toEqual([0x21, 0x43]);
  });

  it('reads the flat layout earlier versions wrote, for every dtype', () => {
    for (const [dtype, size] of SIZES.filter(([, n]) => Number.isInteger(n))) {
      const raw = Uint8Array.from({ length: size }, (_, k) => (k * 13 + 5) & 0xff);
      const message = handMadeFlat(
        { 'mal.tensor.name': 'old', 'mal.tensor.dtype': dtype, 'mal.tensor.shape': '[6]' },
        [flatColumn(dtype, raw)],
      );
      expect(tensorFromArrowIPC(message).tensor, dtype).toEqual({ dtype, shape: [6], bytes: raw });
    }
  });

  it('handles scalars, empty tensors and bytes at an unaligned offset', () => {
    const scalar = tensorFromArrowIPC(
      tensorToArrowIPC('s', { dtype: 'F64', shape: [], bytes: new Uint8Array(8).fill(1) }),
    );
    expect(scalar.tensor.shape).toEqual([]);
    expect(Array.from(scalar.tensor.bytes)).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
    const empty = tensorFromArrowIPC(
      tensorToArrowIPC('e', { dtype: 'F32', shape: [0, 3], bytes: new Uint8Array(0) }),
    );
    expect(empty.tensor.shape).toEqual([0, 3]);
    expect(empty.tensor.bytes.length).toBe(0);
    const backing = new Uint8Array(9);
    backing.set([0, 0, 0x80, 0x3f, 0, 0, 0, 0x40], 1);
    const odd = tensorFromArrowIPC(
      tensorToArrowIPC('o', { dtype: 'F32', shape: [2], bytes: backing.subarray(1) }),
    );
    expect(Array.from(odd.tensor.bytes)).toEqual([0, 0, 0x80, 0x3f, 0, 0, 0, 0x40]);
  });

  it('refuses to encode bytes that do not match the shape', () => {
    expect(() => tensorToArrowIPC('w', { dtype: 'F32', shape: [3], bytes: new Uint8Array(8) })).toThrow(
      RangeError,
    );
  });
});

describe('Arrow IPC tensor codec refuses malformed messages', () => {
  const good = { 'mal.tensor.name': 'w', 'mal.tensor.dtype': 'F32', 'mal.tensor.shape': '[2]' };

  it('bytes that are not an Arrow stream', () => {
    expectInvalid(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9), /not an Arrow IPC stream/);
  });

  it('a missing tensor name', () => {
    const { 'mal.tensor.name': _, ...rest } = good;
    expectInvalid(handMadeMessage(rest, new Float32Array(2)), /no 'mal\.tensor\.name'/);
  });

  it('a missing or unknown dtype', () => {
    const { 'mal.tensor.dtype': _, ...rest } = good;
    expectInvalid(
      handMadeMessage(rest, new Float32Array(2)),
      /'mal\.tensor\.dtype' metadata is missing or unknown/,
      'w',
    );
    expectInvalid(
      handMadeMessage({ ...good, 'mal.tensor.dtype': 'F8' }, new Float32Array(2)),
      /unknown: "F8"/,
      'w',
    );
  });

  it('a missing or malformed shape', () => {
    const { 'mal.tensor.shape': _, ...rest } = good;
    expectInvalid(
      handMadeMessage(rest, new Float32Array(2)),
      /'mal\.tensor\.shape' metadata is missing or not JSON/,
      'w',
    );
    expectInvalid(
      handMadeMessage({ ...good, 'mal.tensor.shape': '[2, -1]' }, new Float32Array(2)),
      /non-negative integers/,
      'w',
    );
  });

  it('a shape that does not match the column length', () => {
    expectInvalid(
      handMadeMessage({ ...good, 'mal.tensor.shape': '[2, 2]' }, new Float32Array(3)),
      /shape \[2, 2\] of [A-Z0-9]+ does not match the column's 3 values/,
      'w',
    );
  });

  it('a column type that does not carry the dtype', () => {
    expectInvalid(handMadeMessage(good, new Int32Array(2)), /column type Int32 does not carry F32/, 'w');
  });

  it('more than one column', () => {
    expectInvalid(
      handMadeMessage(good, new Float32Array(2), 2),
      /expected one column \(one tensor\), got 2/,
      'w',
    );
  });
});

describe('Arrow IPC tensor messages from other producers', () => {
  const f32 = (values: number[]): Data<Float32> =>
    makeData({ type: new Float32(), length: values.length, nullCount: 0, data: Float32Array.from(values) });
  const bytesOf = (values: number[]): number[] =>
    Array.from(new Uint8Array(Float32Array.from(values).buffer));

  it('a flat tensor split over record batches is read whole, in order', () => {
    const meta = { 'mal.tensor.name': 'split', 'mal.tensor.dtype': 'F32', 'mal.tensor.shape': '[2, 3]' };
    const message = handMadeFlat(meta, [f32([1, 2]), f32([]), f32([3, 4, 5]), f32([6])]);
    expect(tableFromIPC(message).batches.length).toBe(4);
    const { tensor } = tensorFromArrowIPC(message);
    expect(tensor.shape).toEqual([2, 3]);
    expect(Array.from(tensor.bytes)).toEqual(bytesOf([1, 2, 3, 4, 5, 6]));
  });

  it('a fixed_shape_tensor with extra keys, dim_names and an identity permutation', () => {
    const message = handMadeTensor(
      { ...TENSOR, 'ARROW:extension:metadata': '{"dim_names":["o","i"],"permutation":[0,1],"shape":[2,2]}' },
      f32([1, 2, 3, 4]),
    );
    const { name, tensor } = tensorFromArrowIPC(message);
    expect(name).toBe('t');
    expect(tensor).toEqual({ dtype: 'F32', shape: [2, 2], bytes: Uint8Array.from(bytesOf([1, 2, 3, 4])) });
  });

  it('a fixed_shape_tensor whose one row sits among empty record batches', () => {
    const listType = new FixedSizeList(2, new Field('item', new Float32(), false));
    const field = new Field(
      'w',
      listType,
      false,
      new Map([...Object.entries(TENSOR), ['ARROW:extension:metadata', '{"shape":[2]}']]),
    );
    const schema = new Schema([field]);
    const batch = (values: number[]): RecordBatch => {
      const rows = values.length / 2;
      const list = makeData({ type: listType, length: rows, nullCount: 0, child: f32(values) });
      return new RecordBatch(
        schema,
        makeData({ type: new Struct([field]), length: rows, nullCount: 0, children: [list] }),
      );
    };
    const message = tableToIPC(new Table([batch([]), batch([3, 4]), batch([])]), 'stream');
    expect(tableFromIPC(message).batches.length).toBe(3);
    expect(tensorFromArrowIPC(message).tensor).toEqual({
      dtype: 'F32',
      shape: [2],
      bytes: Uint8Array.from(bytesOf([3, 4])),
    });
  });

  it('arrow.bool8 values read as BOOL, any non-zero byte as 1', () => {
    const items = makeData({ type: new Int8(), length: 4, nullCount: 0, data: Int8Array.of(0, 1, -1, 7) });
    const message = handMadeTensor({ ...TENSOR, 'ARROW:extension:metadata': '{"shape":[4]}' }, items, 1, {
      'ARROW:extension:name': 'arrow.bool8',
      'ARROW:extension:metadata': '',
    });
    expect(tensorFromArrowIPC(message).tensor).toEqual({
      dtype: 'BOOL',
      shape: [4],
      bytes: Uint8Array.of(0, 1, 1, 1),
    });
  });

  it('refuses several tensors, a reordering permutation, a shape that does not fit, unknown value types', () => {
    const four = f32([1, 2, 3, 4]);
    expectInvalid(
      handMadeTensor({ ...TENSOR, 'ARROW:extension:metadata': '{"shape":[2]}' }, four, 2),
      /holds 2 tensors; a tensor message holds one/,
      't',
    );
    expectInvalid(
      handMadeTensor({ ...TENSOR, 'ARROW:extension:metadata': '{"shape":[2,2],"permutation":[1,0]}' }, four),
      /"permutation" \[1,0\] reorders the axes/,
      't',
    );
    expectInvalid(
      handMadeTensor({ ...TENSOR, 'ARROW:extension:metadata': '{"shape":[3]}' }, four),
      /shape \[3\] holds 3 elements but the FixedSizeList holds 4/,
      't',
    );
    expectInvalid(handMadeTensor(TENSOR, four), /'ARROW:extension:metadata' is missing or not JSON/, 't');
    const i32 = makeData({ type: new Int32(), length: 2, nullCount: 0, data: Int32Array.of(1, 2) });
    const mislabelled = handMadeTensor({ ...TENSOR, 'ARROW:extension:metadata': '{"shape":[2]}' }, i32);
    const relabel = tableFromIPC(mislabelled);
    relabel.schema.metadata.set('mal.tensor.dtype', 'F32');
    expectInvalid(
      tableToIPC(relabel, 'stream'),
      /'mal\.tensor\.dtype' metadata says F32 but the value type Int32 holds I32/,
      't',
    );
    expectInvalid(
      handMadeTensor({ ...TENSOR, 'ARROW:extension:metadata': '{"shape":[4]}' }, four, 1, {
        'ARROW:extension:name': 'example.float32_of_mine',
      }),
      /value type Float32 \(example\.float32_of_mine\) is not one mal reads/,
      't',
    );
    expectInvalid(
      handMadeTensor({ 'ARROW:extension:name': 'arrow.json', 'ARROW:extension:metadata': '' }, four),
      /column 't' is of extension type 'arrow\.json', not arrow\.fixed_shape_tensor/,
    );
  });
});
