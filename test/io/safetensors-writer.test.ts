import { readdir, readFile, writeFile } from 'node:fs/promises';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidFileError } from '../../src/errors.js';
import { SafetensorsReader } from '../../src/io/safetensors-reader.js';
import { writeSafetensors, writeSafetensorsTensors } from '../../src/io/safetensors-writer.js';
import type { DType } from '../../src/tensor/dtype.js';
import type { RawTensor } from '../../src/tensor/tensor.js';
import { type ScratchFolder, scratchFolder } from './safetensors-file-fixtures.js';

let scratch: ScratchFolder;
beforeEach(async () => {
  scratch = await scratchFolder();
});
afterEach(async () => {
  await scratch.remove();
});

describe('writeSafetensors', () => {
  it('writes the exact bytes of the format: u64 length, space-padded JSON, data', async () => {
    const path = scratch.file('exact.safetensors');
    await writeSafetensors(path, [{ name: 'x', dtype: 'U8', shape: [3] }], () => Uint8Array.from([7, 8, 9]), {
      k: 'v',
    });
    const json = '{"__metadata__":{"k":"v"},"x":{"dtype":"U8","shape":[3],"data_offsets":[0,3]}}';
    expect(json.length).toBe(78); // padded to 80
    const expected = [80, 0, 0, 0, 0, 0, 0, 0, ...Buffer.from(`${json}  `), 7, 8, 9];
    expect(Array.from(await readFile(path))).toEqual(expected);
  });

  it('round-trips every dtype, shapes and metadata through the reader', async () => {
    const tensors = new Map<string, RawTensor>();
    // Bits per element, from the reference's Dtype::bitsize; 8 elements fill whole bytes for every dtype.
    const dtypes: Array<[DType, number]> = [
      ['BOOL', 8],
      ['F4', 4],
      ['F6_E2M3', 6],
      ['F6_E3M2', 6],
      ['U8', 8],
      ['I8', 8],
      ['F8_E5M2', 8],
      ['F8_E4M3', 8],
      ['F8_E8M0', 8],
      ['F8_E4M3FNUZ', 8],
      ['F8_E5M2FNUZ', 8],
      ['I16', 16],
      ['U16', 16],
      ['F16', 16],
      ['BF16', 16],
      ['I32', 32],
      ['U32', 32],
      ['F32', 32],
      ['C64', 64],
      ['F64', 64],
      ['I64', 64],
      ['U64', 64],
    ];
    for (const [i, [dtype, bits]] of dtypes.entries()) {
      const bytes = Uint8Array.from({ length: bits }, (_, k) => (k * 31 + i) & 0xff);
      tensors.set(dtype, { dtype, shape: [2, 4], bytes });
    }
    tensors.set('scalar', { dtype: 'F32', shape: [], bytes: Uint8Array.from([1, 2, 3, 4]) });
    tensors.set('empty', { dtype: 'F32', shape: [0, 5], bytes: new Uint8Array(0) });
    const path = scratch.file('all.safetensors');
    await writeSafetensorsTensors(path, tensors, { format: 'pt', source: 'test' });

    const bytes = await readFile(path);
    const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    expect(headerLength % 8).toBe(0);

    const reader = await SafetensorsReader.open(path);
    // The reference's order: dtype descending in its enum order, then name (F32 has three tensors).
    expect(reader.tensorNames()).toEqual([
      'U64',
      'I64',
      'F64',
      'C64',
      'F32',
      'empty',
      'scalar',
      'U32',
      'I32',
      'BF16',
      'F16',
      'U16',
      'I16',
      'F8_E5M2FNUZ',
      'F8_E4M3FNUZ',
      'F8_E8M0',
      'F8_E4M3',
      'F8_E5M2',
      'I8',
      'U8',
      'F6_E3M2',
      'F6_E2M3',
      'F4',
      'BOOL',
    ]);
    expect(reader.metadata).toEqual({ format: 'pt', source: 'test' });
    for (const [name, tensor] of tensors) {
      const back = await reader.read(name);
      expect(back.dtype).toBe(tensor.dtype);
      expect(back.shape).toEqual(tensor.shape);
      expect(Array.from(back.bytes)).toEqual(Array.from(tensor.bytes));
    }
    await reader.close();
  });

  it('takes an array of named tensors and calls the producer in file order, not the order given', async () => {
    const path = scratch.file('order.safetensors');
    const calls: string[] = [];
    await writeSafetensors(
      path,
      [
        { name: 'z', dtype: 'U8', shape: [1] },
        { name: 'a', dtype: 'U8', shape: [2] },
      ],
      async (name) => {
        calls.push(name);
        return name === 'z' ? Uint8Array.of(1) : Uint8Array.of(2, 3);
      },
    );
    expect(calls).toEqual(['a', 'z']);
    const reader = await SafetensorsReader.open(path);
    expect(reader.tensorNames()).toEqual(['a', 'z']);
    expect(Array.from((await reader.read('a')).bytes)).toEqual([2, 3]);
    await reader.close();
  });

  it('writes a tensor named __proto__ as a plain key', async () => {
    const path = scratch.file('proto.safetensors');
    await writeSafetensorsTensors(path, [
      { name: '__proto__', tensor: { dtype: 'U8', shape: [1], bytes: Uint8Array.of(5) } },
    ]);
    const reader = await SafetensorsReader.open(path);
    expect(reader.tensorNames()).toEqual(['__proto__']);
    await reader.close();
  });
});

describe('writeSafetensors is atomic', () => {
  const entries = [
    { name: 'a', dtype: 'F32', shape: [2] },
    { name: 'b', dtype: 'F32', shape: [2] },
  ] as const;

  it('leaves no file and no temporary file when the producer throws', async () => {
    const path = scratch.file('out.safetensors');
    const failing = async (name: string) => {
      if (name === 'b') throw new Error('merge failed');
      return new Uint8Array(8);
    };
    await expect(writeSafetensors(path, entries, failing)).rejects.toThrow('merge failed');
    expect(await readdir(scratch.path)).toEqual([]);
  });

  it('leaves no file when the producer returns the wrong number of bytes, naming file and tensor', async () => {
    const path = scratch.file('out.safetensors');
    const error = await writeSafetensors(path, entries, (name) => new Uint8Array(name === 'b' ? 7 : 8)).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InvalidFileError);
    expect((error as InvalidFileError).message).toContain(path);
    expect((error as InvalidFileError).tensor).toBe('b');
    expect(await readdir(scratch.path)).toEqual([]);
  });

  it('keeps an existing file under the final name unchanged on failure', async () => {
    const path = await scratch.write('out.safetensors', 'previous contents');
    await expect(
      writeSafetensors(path, entries, () => {
        throw new Error('no');
      }),
    ).rejects.toThrow('no');
    expect(await readFile(path, 'utf8')).toBe('previous contents');
    expect(await readdir(scratch.path)).toEqual(['out.safetensors']);
  });

  it('replaces an existing file on success', async () => {
    const path = await scratch.write('out.safetensors', 'previous contents');
    await writeSafetensors(path, entries, () => new Uint8Array(8));
    const reader = await SafetensorsReader.open(path);
    expect(reader.tensorNames()).toEqual(['a', 'b']);
    await reader.close();
    expect(await readdir(scratch.path)).toEqual(['out.safetensors']);
  });

  it('refuses duplicate names, the reserved name and bad shapes before creating anything', async () => {
    const path = scratch.file('bad.safetensors');
    const produce = () => new Uint8Array(0);
    await expect(
      writeSafetensors(
        path,
        [
          { name: 'a', dtype: 'U8', shape: [0] },
          { name: 'a', dtype: 'U8', shape: [0] },
        ],
        produce,
      ),
    ).rejects.toThrow(/tensor 'a': tensor name given twice/);
    await expect(
      writeSafetensors(path, [{ name: '__metadata__', dtype: 'U8', shape: [0] }], produce),
    ).rejects.toThrow(InvalidFileError);
    await expect(writeSafetensors(path, [{ name: 'n', dtype: 'U8', shape: [-1] }], produce)).rejects.toThrow(
      /shape must be non-negative integers/,
    );
    // A lone surrogate has no UTF-8 form: JSON.stringify would write it as an escape the reference refuses.
    await expect(
      writeSafetensors(path, [{ name: 'a\ud800', dtype: 'U8', shape: [0] }], produce),
    ).rejects.toThrow(/lone UTF-16 surrogate/);
    await expect(
      writeSafetensors(path, [{ name: 'a', dtype: 'U8', shape: [0] }], produce, { ['k\udc00']: 'v' }),
    ).rejects.toThrow(/lone UTF-16 surrogate/);
    await expect(
      writeSafetensors(path, [{ name: 'a', dtype: 'U8', shape: [0] }], produce, { k: 'v\udc00' }),
    ).rejects.toThrow(/lone UTF-16 surrogate/);
    expect(await readdir(scratch.path)).toEqual([]);
  });

  it('does not touch a foreign file that happens to be in the folder', async () => {
    await writeFile(scratch.file('other.txt'), 'x');
    await writeSafetensors(scratch.file('m.safetensors'), entries, () => new Uint8Array(8));
    expect((await readdir(scratch.path)).sort()).toEqual(['m.safetensors', 'other.txt']);
  });
});

describe('writeSafetensors orders tensors as the reference writer does', () => {
  // Element bits from the reference's Dtype::bitsize, listed here rather than taken from the code under test.
  const BITS: Record<DType, number> = {
    BOOL: 8,
    F4: 4,
    F6_E2M3: 6,
    F6_E3M2: 6,
    U8: 8,
    I8: 8,
    F8_E5M2: 8,
    F8_E4M3: 8,
    F8_E8M0: 8,
    F8_E4M3FNUZ: 8,
    F8_E5M2FNUZ: 8,
    I16: 16,
    U16: 16,
    F16: 16,
    BF16: 16,
    I32: 32,
    U32: 32,
    F32: 32,
    C64: 64,
    F64: 64,
    I64: 64,
    U64: 64,
  };
  const tensorArb = fc.record({
    dtype: fc.constantFrom(...(Object.keys(BITS) as DType[])),
    // Multiples of 4 elements fill whole bytes for every dtype (F6: 4 elements in 3 bytes).
    rows: fc.integer({ min: 0, max: 3 }),
    name: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 6 }),
    seed: fc.integer({ min: 0, max: 255 }),
  });
  const setArb = fc
    .uniqueArray(tensorArb, { minLength: 1, maxLength: 8, selector: (t) => t.name })
    .filter((ts) => ts.every((t) => t.name !== '__metadata__'));

  it("reproduces the reference's bytes for an F16 tensor given before an I32 one", async () => {
    // bindings/python/tests/test_simple.py test_serialization_forces_alignment: I32 comes first whatever the order.
    const path = scratch.file('aligned.safetensors');
    await writeSafetensorsTensors(path, [
      { name: 'test2', tensor: { dtype: 'F16', shape: [2, 2], bytes: new Uint8Array(8) } },
      { name: 'test1', tensor: { dtype: 'I32', shape: [2, 2], bytes: new Uint8Array(16) } },
    ]);
    const header =
      '{"test1":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]},' +
      '"test2":{"dtype":"F16","shape":[2,2],"data_offsets":[16,24]}}      ';
    const expected = [0x80, 0, 0, 0, 0, 0, 0, 0, ...Buffer.from(header), ...new Uint8Array(24)];
    expect(Array.from(await readFile(path))).toEqual(expected);
  });

  it('gives the same bytes for any permutation of the same tensors, each tensor aligned to its element', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(setArb, fc.infiniteStream(fc.nat()), async (set, randoms) => {
        const named = set.map(({ dtype, rows, name, seed }) => {
          const shape = [rows, 4];
          const bytes = Uint8Array.from(
            { length: (rows * 4 * BITS[dtype]) / 8 },
            (_, k) => (seed + k) & 0xff,
          );
          return { name, tensor: { dtype, shape, bytes } };
        });
        // A Fisher-Yates shuffle driven by the generated stream.
        const shuffled = [...named];
        const it = randoms[Symbol.iterator]();
        for (let i = shuffled.length - 1; i > 0; i--) {
          const j = it.next().value % (i + 1);
          [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
        }
        run++;
        const a = scratch.file(`a${run}.safetensors`);
        const b = scratch.file(`b${run}.safetensors`);
        await writeSafetensorsTensors(a, named, { z: '1', a: '2' });
        await writeSafetensorsTensors(b, shuffled, { a: '2', z: '1' });
        const bytesA = await readFile(a);
        expect(Buffer.compare(bytesA, await readFile(b))).toBe(0);

        const reader = await SafetensorsReader.open(a);
        const names = reader.tensorNames();
        const order = Object.keys(BITS);
        for (let i = 1; i < names.length; i++) {
          const [p, q] = [reader.entry(names[i - 1]), reader.entry(names[i])];
          const byDtype = order.indexOf(p.dtype) - order.indexOf(q.dtype);
          // Descending enum order, then name by code point (as Rust compares UTF-8 strings).
          expect(
            byDtype > 0 || (byDtype === 0 && Buffer.compare(Buffer.from(p.name), Buffer.from(q.name)) < 0),
          ).toBe(true);
        }
        for (const name of names) {
          const { dtype, begin } = reader.entry(name);
          if (BITS[dtype] % 8 === 0) expect((reader.dataStart + begin) % (BITS[dtype] / 8)).toBe(0);
        }
        await reader.close();
      }),
      { numRuns: 40 },
    );
  });
});
