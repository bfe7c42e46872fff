import {
  Field,
  Float32,
  Int32,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Table,
  tableFromIPC,
  tableToIPC,
} from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { InvalidFileError } from '../../src/errors.js';
import { tensorFromArrowIPC, tensorToArrowIPC } from '../../src/io/arrow-tensor.js';
import type { DType } from '../../src/tensor/dtype.js';
import type { RawTensor } from '../../src/tensor/tensor.js';

const SIZES: Array<[DType, number]> = [
  ['F64', 8],
  ['F32', 4],
  ['F16', 2],
  ['BF16', 2],
  ['I64', 8],
  ['I32', 4],
  ['I16', 2],
  ['I8', 1],
  ['U8', 1],
  ['BOOL', 1],
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
  it.each(SIZES)('round-trips %s', (dtype, size) => {
    const bytes = Uint8Array.from({ length: 6 * size }, (_, k) => (k * 37 + 11) & 0xff);
    const t: RawTensor = { dtype, shape: [3, 2], bytes };
    const message = tensorToArrowIPC('layers.0.weight', t);
    const back = tensorFromArrowIPC(message);
    expect(back.name).toBe('layers.0.weight');
    expect(back.tensor.dtype).toBe(dtype);
    expect(back.tensor.shape).toEqual([3, 2]);
    expect(Array.from(back.tensor.bytes)).toEqual(Array.from(bytes));
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

  it('carries F16/BF16 as raw words in a Uint16 column and F32 as Float32, with metadata', () => {
    const bf16 = tableFromIPC(
      tensorToArrowIPC('b', { dtype: 'BF16', shape: [2], bytes: Uint8Array.of(0x80, 0x3f, 0x00, 0xc0) }),
    );
    expect(String(bf16.schema.fields[0].type)).toBe('Uint16');
    expect(Array.from(bf16.getChildAt(0)!.toArray() as Uint16Array)).toEqual([0x3f80, 0xc000]);
    expect(bf16.schema.metadata.get('mal.tensor.dtype')).toBe('BF16');
    expect(bf16.schema.metadata.get('mal.tensor.shape')).toBe('[2]');
    expect(bf16.schema.metadata.get('mal.tensor.name')).toBe('b');
    const f32 = tableFromIPC(
      tensorToArrowIPC('f', { dtype: 'F32', shape: [1], bytes: Uint8Array.of(0, 0, 0x80, 0x3f) }),
    );
    expect(String(f32.schema.fields[0].type)).toBe('Float32');
    expect(Array.from(f32.getChildAt(0)!.toArray() as Float32Array)).toEqual([1]);
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
    expectInvalid(handMadeMessage(good, new Float32Array(2), 2), /one record batch of one column/, 'w');
  });
});
