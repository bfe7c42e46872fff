import { Dictionary, Int32, Table, tableFromArrays, tableToIPC, Utf8, vectorFromArray } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { InvalidFileError } from '../../src/errors.js';
import { checkArrowIPC } from '../../src/io/arrow-ipc-check.js';
import { tensorToArrowIPC } from '../../src/io/arrow-tensor.js';

const options = { notArrow: 'not an Arrow IPC stream' };

/** Every 8-aligned int64 equal to `from`, set to `to` (row counts in the metadata of a small message). */
function replaceInt64(bytes: Uint8Array, from: bigint, to: bigint): Uint8Array {
  const out = Uint8Array.from(bytes);
  const view = new DataView(out.buffer);
  let replaced = 0;
  for (let at = 0; at + 8 <= out.length; at += 8) {
    if (view.getBigInt64(at, true) === from) {
      view.setBigInt64(at, to, true);
      replaced += 1;
    }
  }
  expect(replaced).toBeGreaterThan(0);
  return out;
}

function message(bytes: Uint8Array): string {
  try {
    checkArrowIPC(bytes, 'blob 7', options);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidFileError);
    return (error as Error).message;
  }
  return 'accepted';
}

describe('Arrow IPC framing is checked against the bytes there are', () => {
  const tensor = tensorToArrowIPC('w', { dtype: 'F32', shape: [1234], bytes: new Uint8Array(4 * 1234) });
  // One flat column of 1234 float32 values, as the flat tensor layout and data frames have.
  const flat = tableToIPC(tableFromArrays({ values: new Float32Array(1234) }), 'stream');

  it('accepts what the encoders write, stream and file', () => {
    expect(message(tensor)).toBe('accepted');
    expect(message(flat)).toBe('accepted');
    const table = tableFromArrays({ label: Int32Array.from([0, 1]), x: Float64Array.from([1, 2]) });
    expect(message(tableToIPC(table, 'file'))).toBe('accepted');
    expect(message(tableToIPC(table, 'stream'))).toBe('accepted');
  });

  it('a row count larger than the buffers hold', () => {
    // 1234 is the batch length and the column's node length; the values buffer holds 4936 bytes.
    expect(message(replaceInt64(flat, 1234n, 1300n))).toMatch(
      /^blob 7: corrupt Arrow IPC data: record batch 0: column 'values' claims 1300 values but its values buffer holds 4936 bytes of the 5200 they need/,
    );
    expect(message(replaceInt64(flat, 1234n, 2n ** 50n))).toMatch(/claims 1125899906842624 rows/);
    // In the fixed-shape layout 1234 is the item column's length: one list of 1234 needs 1234 items.
    expect(message(replaceInt64(tensor, 1234n, 1300n))).toMatch(
      /column 'item' claims 1300 values but its values buffer holds 4936 bytes of the 5200/,
    );
  });

  it('a body that reaches beyond the bytes', () => {
    expect(message(tensor.subarray(0, tensor.length - 64))).toMatch(/reaches beyond the .* bytes there are/);
  });

  it('bytes that are not Arrow at all', () => {
    expect(message(new TextEncoder().encode('not arrow at all'))).toMatch(
      /^blob 7: not an Arrow IPC stream \(/,
    );
    expect(message(new Uint8Array(16))).toMatch(/^blob 7: not an Arrow IPC stream \(no schema message\)/);
  });

  it('column types no data file or tensor carries', () => {
    const dictionary = new Table({
      label: vectorFromArray(['a', 'b'], new Dictionary(new Utf8(), new Int32())),
    });
    expect(message(tableToIPC(dictionary, 'stream'))).toMatch(/'label' is dictionary-encoded/);
  });
});
