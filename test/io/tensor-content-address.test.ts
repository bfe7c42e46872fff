import { Field, Float32, makeData, RecordBatch, Schema, Struct, Table, tableToIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { tensorFromArrowIPC, tensorToArrowIPC } from '../../src/io/arrow-tensor.js';
import { tensorContentAddress } from '../../src/io/tensor-content-address.js';

/** A flat-layout message as an older producer wrote it: metadata in `order`, values split into `parts`. */
function flatMessage(order: Array<[string, string]>, parts: number[][]): Uint8Array {
  const schema = new Schema([new Field('values', new Float32(), false)], new Map(order));
  const batches = parts.map((part) => {
    const column = makeData({
      type: new Float32(),
      length: part.length,
      nullCount: 0,
      data: Float32Array.from(part),
    });
    return new RecordBatch(
      schema,
      makeData({ type: new Struct(schema.fields), length: part.length, nullCount: 0, children: [column] }),
    );
  });
  return tableToIPC(new Table(batches), 'stream');
}

function addressOf(message: Uint8Array): string {
  const { tensor } = tensorFromArrowIPC(message);
  return tensorContentAddress(tensor.dtype, tensor.shape, tensor.bytes);
}

describe('tensor content addresses', () => {
  // Expected values: sha256 of the documented prefix and the bytes, computed outside this code (Python hashlib).
  it('hash the documented prefix and the raw bytes', () => {
    expect(tensorContentAddress('F32', [2], Uint8Array.of(0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0))).toBe(
      '2c82e736fce4e7199399d8748de3947210fadd3dbe0fee7c8ab2352bc7fded71',
    );
    expect(tensorContentAddress('BOOL', [], Uint8Array.of(1))).toBe(
      '04074f8ae47e7c34b023f727a31596475c92ff318ad5e41ee04833eea6020daa',
    );
    expect(tensorContentAddress('F32', [2, 0], new Uint8Array(0))).toBe(
      '166fb044e5e58adfa5467e93eecb7464a3a61887aaf4b21d6674bc603319e28c',
    );
  });

  it('tell dtype and shape apart for the same bytes', () => {
    const bytes = new Uint8Array(8);
    const addresses = new Set([
      tensorContentAddress('F32', [2], bytes),
      tensorContentAddress('I32', [2], bytes),
      tensorContentAddress('F32', [1, 2], bytes),
      tensorContentAddress('F32', [2, 1], bytes),
      tensorContentAddress('F64', [1], bytes),
      tensorContentAddress('F16', [4], bytes),
    ]);
    expect(addresses.size).toBe(6);
  });

  it('are equal for equal tensors from different producers, though their message bytes differ', () => {
    const values = [0.5, -1, 2, 8, 1e-3, 7];
    const fixedShape = tensorToArrowIPC('w', {
      dtype: 'F32',
      shape: [2, 3],
      bytes: new Uint8Array(Float32Array.from(values).buffer),
    });
    const renamed = tensorToArrowIPC('another.name', {
      dtype: 'F32',
      shape: [2, 3],
      bytes: new Uint8Array(Float32Array.from(values).buffer),
    });
    const keys: Array<[string, string]> = [
      ['mal.tensor.name', 'w'],
      ['mal.tensor.dtype', 'F32'],
      ['mal.tensor.shape', '[2,3]'],
    ];
    const flat = flatMessage(keys, [values]);
    const reordered = flatMessage([keys[2], keys[0], keys[1]], [values]);
    const spaced = flatMessage([keys[0], keys[1], ['mal.tensor.shape', '[2, 3]']], [values]);
    const split = flatMessage(keys, [values.slice(0, 1), values.slice(1, 4), values.slice(4)]);
    const messages = [fixedShape, renamed, flat, reordered, spaced, split];
    expect(new Set(messages.map((m) => Buffer.from(m).toString('hex'))).size).toBe(messages.length);
    const expected = tensorContentAddress('F32', [2, 3], new Uint8Array(Float32Array.from(values).buffer));
    for (const message of messages) expect(addressOf(message)).toBe(expected);
  });

  it('read any non-zero BOOL byte as true, so a BOOL tensor keeps its address through an Arrow message', () => {
    // safetensors stores whatever byte a producer wrote; Arrow's bool (bit-packed) and bool8 readers give 0 or 1.
    const loose = { dtype: 'BOOL' as const, shape: [3], bytes: Uint8Array.of(2, 0, 255) };
    const back = tensorFromArrowIPC(tensorToArrowIPC('m', loose)).tensor;
    expect([...back.bytes]).toEqual([1, 0, 1]);
    const address = tensorContentAddress('BOOL', [3], loose.bytes);
    expect(address).toBe(tensorContentAddress('BOOL', [3], back.bytes));
    // Expected value: Python hashlib over b'mal.tensor.v1 BOOL [3]\n\x01\x00\x01'.
    expect(address).toBe('52bd83720fbfabcff02ac91f1ab6c48ee3f68de5ef43002dec38ea392946d18c');
    // The caller's bytes are left as they were.
    expect([...loose.bytes]).toEqual([2, 0, 255]);
  });
});
