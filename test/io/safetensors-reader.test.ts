import { open, truncate } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidFileError } from '../../src/errors.js';
import { SafetensorsReader } from '../../src/io/safetensors-reader.js';
import { handMadeSafetensors, type ScratchFolder, scratchFolder } from './safetensors-file-fixtures.js';

let scratch: ScratchFolder;
beforeEach(async () => {
  scratch = await scratchFolder();
});
afterEach(async () => {
  await scratch.remove();
});

// 1, 2, 3, 4 as little-endian float32, then -1, 0, 5 as int8.
const F32_1234 = [0, 0, 0x80, 0x3f, 0, 0, 0, 0x40, 0, 0, 0x40, 0x40, 0, 0, 0x80, 0x40];
const I8_M105 = [0xff, 0x00, 0x05];

async function expectInvalid(path: string, pattern: RegExp, tensor?: string): Promise<void> {
  const error = await SafetensorsReader.open(path).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InvalidFileError);
  const invalid = error as InvalidFileError;
  expect(invalid.file).toBe(path);
  expect(invalid.message).toContain(path);
  expect(invalid.message).toMatch(pattern);
  expect(invalid.tensor).toBe(tensor);
  if (tensor !== undefined) expect(invalid.message).toContain(`'${tensor}'`);
}

function oneTensorHeader(entry: string): string {
  return `{"w":${entry}}`;
}

describe('SafetensorsReader on a hand-made file', () => {
  it('reads names in file order, info, bytes and metadata', async () => {
    // JSON order differs from data order on purpose: file order is the order of the bytes.
    const header =
      '{"b":{"dtype":"I8","shape":[3],"data_offsets":[16,19]},' +
      '"__metadata__":{"format":"pt","note":"hand made"},' +
      '"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}   ';
    const path = await scratch.write(
      'm.safetensors',
      handMadeSafetensors(header, Uint8Array.from([...F32_1234, ...I8_M105])),
    );
    const reader = await SafetensorsReader.open(path);
    try {
      expect(reader.path).toBe(path);
      expect(reader.tensorNames()).toEqual(['a', 'b']);
      expect(reader.metadata).toEqual({ format: 'pt', note: 'hand made' });
      expect(reader.info('a')).toEqual({ name: 'a', dtype: 'F32', shape: [2, 2] });
      expect(reader.info('b')).toEqual({ name: 'b', dtype: 'I8', shape: [3] });
      const a = await reader.read('a');
      expect(a.bytes.byteOffset % 8).toBe(0); // aligned for any typed array view
      expect(Array.from(new Float32Array(a.bytes.buffer, a.bytes.byteOffset, 4))).toEqual([1, 2, 3, 4]);
      const b = await reader.read('b');
      expect(Array.from(new Int8Array(b.bytes.buffer, b.bytes.byteOffset, 3))).toEqual([-1, 0, 5]);
    } finally {
      await reader.close();
    }
  });

  it('keeps the last entry of a tensor named twice, as the reference reader does', async () => {
    const header =
      '{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},' +
      '"w":{"dtype":"I8","shape":[4],"data_offsets":[0,4]}}';
    const path = await scratch.write(
      'twice.safetensors',
      handMadeSafetensors(header, Uint8Array.of(1, 2, 3, 4)),
    );
    const reader = await SafetensorsReader.open(path);
    expect(reader.tensorNames()).toEqual(['w']);
    expect(reader.info('w')).toEqual({ name: 'w', dtype: 'I8', shape: [4] });
    await reader.close();
  });

  it('reads a scalar, a zero-element tensor and a file without metadata', async () => {
    const header =
      '{"empty":{"dtype":"F16","shape":[0,4],"data_offsets":[4,4]},"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}';
    const path = await scratch.write(
      's.safetensors',
      handMadeSafetensors(header, Uint8Array.from([0, 0, 0x80, 0x3f])),
    );
    const reader = await SafetensorsReader.open(path);
    expect(reader.metadata).toEqual({});
    expect(Array.from((await reader.read('s')).bytes)).toEqual([0, 0, 0x80, 0x3f]);
    expect((await reader.read('empty')).bytes.length).toBe(0);
    await reader.close();
  });

  it('reads into a reused buffer and refuses a buffer that is too small', async () => {
    const header = '{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}';
    const path = await scratch.write('r.safetensors', handMadeSafetensors(header, Uint8Array.from(F32_1234)));
    const reader = await SafetensorsReader.open(path);
    const buffer = new Uint8Array(32).fill(7);
    const t = await reader.readInto('a', buffer);
    expect(t.bytes.buffer).toBe(buffer.buffer);
    expect(Array.from(t.bytes)).toEqual(F32_1234);
    expect(buffer[16]).toBe(7);
    await expect(reader.readInto('a', new Uint8Array(15))).rejects.toThrow(RangeError);
    await reader.close();
  });

  it('yields tensors in the order asked with readMany, several reads in flight', async () => {
    const entries: string[] = [];
    const data: number[] = [];
    for (let i = 0; i < 10; i++) {
      entries.push(`"t${i}":{"dtype":"U8","shape":[2],"data_offsets":[${2 * i},${2 * i + 2}]}`);
      data.push(i, 100 + i);
    }
    const path = await scratch.write(
      'many.safetensors',
      handMadeSafetensors(`{${entries.join(',')}}`, Uint8Array.from(data)),
    );
    const reader = await SafetensorsReader.open(path);
    const order = ['t7', 't0', 't9', 't3'];
    const seen: Array<[string, number[]]> = [];
    for await (const { name, tensor } of reader.readMany(order, 3))
      seen.push([name, Array.from(tensor.bytes)]);
    expect(seen).toEqual([
      ['t7', [7, 107]],
      ['t0', [0, 100]],
      ['t9', [9, 109]],
      ['t3', [3, 103]],
    ]);
    let count = 0;
    for await (const _ of reader.readMany()) count++;
    expect(count).toBe(10);
    await expect(reader.readMany(['t1', 'nope']).next()).rejects.toThrow(InvalidFileError);
    await reader.close();
  });

  it('names the file and tensor when asked for a tensor it does not hold', async () => {
    const path = await scratch.write('a.safetensors', handMadeSafetensors('{}', new Uint8Array(0)));
    const reader = await SafetensorsReader.open(path);
    expect(reader.tensorNames()).toEqual([]);
    expect(() => reader.info('x')).toThrow(InvalidFileError);
    await expect(reader.read('x')).rejects.toThrow(/a\.safetensors: tensor 'x'/);
    await reader.close();
  });

  it('reports a file that shrank after opening as truncated', async () => {
    const header = '{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}';
    const path = await scratch.write(
      'shrink.safetensors',
      handMadeSafetensors(header, Uint8Array.from(F32_1234)),
    );
    const reader = await SafetensorsReader.open(path);
    await truncate(path, 8 + header.length + 6);
    const error = await reader.read('a').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidFileError);
    expect((error as InvalidFileError).message).toContain(path);
    expect((error as InvalidFileError).tensor).toBe('a');
    await reader.close();
  });

  it('reads a tensor stored beyond 4 GiB in a sparse file with positional reads', async () => {
    const far = 4 * 2 ** 30 + 12;
    // Tensors must tile the data section, so a 4 GiB tensor nobody reads (a hole in the sparse file) comes first.
    const header =
      `{"pad":{"dtype":"U8","shape":[${far}],"data_offsets":[0,${far}]},` +
      `"far":{"dtype":"F32","shape":[4],"data_offsets":[${far},${far + 16}]}}`;
    const prefix = handMadeSafetensors(header, new Uint8Array(0));
    const path = await scratch.write('sparse.safetensors', prefix);
    const handle = await open(path, 'r+');
    await handle.write(Uint8Array.from(F32_1234), 0, 16, prefix.length + far);
    await handle.close();
    const reader = await SafetensorsReader.open(path);
    expect(reader.fileBytes).toBeGreaterThan(2 ** 32);
    const t = await reader.read('far');
    expect(Array.from(new Float32Array(t.bytes.buffer))).toEqual([1, 2, 3, 4]);
    await reader.close();
  });
});

describe('SafetensorsReader refuses bad files', () => {
  it('a missing file', async () => {
    await expectInvalid(scratch.file('missing.safetensors'), /no such file/);
  });

  it('an empty file', async () => {
    await expectInvalid(await scratch.write('e.safetensors', new Uint8Array(0)), /0 bytes, too short/);
  });

  it('a file shorter than the 8-byte length prefix', async () => {
    await expectInvalid(
      await scratch.write('short.safetensors', Uint8Array.from([2, 0, 0, 0, 0])),
      /5 bytes, too short/,
    );
  });

  it('a header length beyond the end of the file', async () => {
    const bytes = handMadeSafetensors('{}', new Uint8Array(0), 1000);
    await expectInvalid(await scratch.write('h.safetensors', bytes), /header length 1000 runs past the end/);
  });

  it('a header length above the sanity cap', async () => {
    const bytes = handMadeSafetensors('{}', new Uint8Array(0), 100_000_001);
    await expectInvalid(
      await scratch.write('cap.safetensors', bytes),
      /not a safetensors file.*over the 100000000-byte cap/,
    );
    const huge = Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7b, 0x7d]);
    // The length a user sees is the one in the file, not a rounded or infinite stand-in.
    await expectInvalid(
      await scratch.write('huge.safetensors', huge),
      /header length of 18446744073709551615, over the 100000000-byte cap/,
    );
  });

  it('a header that is not JSON', async () => {
    await expectInvalid(
      await scratch.write('j.safetensors', handMadeSafetensors('{"a": ', new Uint8Array(0))),
      /not valid UTF-8 JSON/,
    );
  });

  it('a header that is not valid UTF-8', async () => {
    const bytes = handMadeSafetensors('{"x":1}', new Uint8Array(0));
    bytes[10] = 0xff;
    await expectInvalid(await scratch.write('u.safetensors', bytes), /not valid UTF-8 JSON/);
  });

  it.each(['[]', 'null', '42', '"text"'])('a header that is JSON but not an object: %s', async (text) => {
    await expectInvalid(
      await scratch.write('o.safetensors', handMadeSafetensors(text, new Uint8Array(0))),
      /must be a JSON object/,
    );
  });

  it('a tensor named twice whose last entry leaves a gap (the reference keeps the last entry)', async () => {
    // The same name spelt with an escape is the same name; its last entry starts at byte 1, leaving byte 0 unused.
    const escaped =
      '{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"\\u0077":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}';
    await expectInvalid(
      await scratch.write('escaped.safetensors', handMadeSafetensors(escaped, new Uint8Array(2))),
      /leave bytes 0\.\.1 of the data section unused/,
      'w',
    );
  });

  it('an entry with a field twice', async () => {
    const header = '{"w":{"dtype":"F32","dtype":"I32","shape":[1],"data_offsets":[0,4]}}';
    await expectInvalid(
      await scratch.write('field.safetensors', handMadeSafetensors(header, new Uint8Array(4))),
      /header entry has 'dtype' twice/,
      'w',
    );
  });

  it('an entry that is not an object, nor the 3-array serde also reads', async () => {
    await expectInvalid(
      await scratch.write('n.safetensors', handMadeSafetensors('{"w":4}', new Uint8Array(0))),
      /header entry must be an object, got 4/,
      'w',
    );
    await expectInvalid(
      await scratch.write('a.safetensors', handMadeSafetensors('{"w":[1,2]}', new Uint8Array(0))),
      /must hold \[dtype, shape, data_offsets\], got 2 items/,
      'w',
    );
  });

  it.each(['"F8"', '"float32"', 'null', '4'])('an unknown dtype %s', async (dtype) => {
    const header = oneTensorHeader(`{"dtype":${dtype},"shape":[1],"data_offsets":[0,4]}`);
    await expectInvalid(
      await scratch.write('d.safetensors', handMadeSafetensors(header, new Uint8Array(4))),
      /unknown dtype/,
      'w',
    );
  });

  it.each(['3', '"[1]"', '[-1]', '[1.5]', '["2"]', 'null', '[2,null]'])(
    'a shape that is not non-negative integers: %s',
    async (shape) => {
      const header = oneTensorHeader(`{"dtype":"U8","shape":${shape},"data_offsets":[0,2]}`);
      await expectInvalid(
        await scratch.write('s.safetensors', handMadeSafetensors(header, new Uint8Array(2))),
        /shape must be an array of non-negative integers/,
        'w',
      );
    },
  );

  it('a shape whose size does not match the byte range', async () => {
    const header = oneTensorHeader('{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}');
    await expectInvalid(
      await scratch.write('m.safetensors', handMadeSafetensors(header, new Uint8Array(24))),
      /shape \[2, 3\] of F32 needs 24 bytes but data_offsets \[0, 20\] span 20/,
      'w',
    );
  });

  it.each(['[0]', '[0,4,8]', '"0,4"', '[-4,0]', '[0,4.5]', 'null'])(
    'malformed data_offsets %s',
    async (offsets) => {
      const header = oneTensorHeader(`{"dtype":"U8","shape":[4],"data_offsets":${offsets}}`);
      await expectInvalid(
        await scratch.write('f.safetensors', handMadeSafetensors(header, new Uint8Array(8))),
        /data_offsets must be/,
        'w',
      );
    },
  );

  it('data_offsets that end before they begin', async () => {
    const header = oneTensorHeader('{"dtype":"U8","shape":[0],"data_offsets":[4,0]}');
    await expectInvalid(
      await scratch.write('b.safetensors', handMadeSafetensors(header, new Uint8Array(8))),
      /end before they begin/,
      'w',
    );
  });

  it('data_offsets beyond the data section', async () => {
    const header = oneTensorHeader('{"dtype":"F32","shape":[4],"data_offsets":[0,16]}');
    await expectInvalid(
      await scratch.write('oob.safetensors', handMadeSafetensors(header, new Uint8Array(12))),
      /the tensors need 16 bytes but only 12 follow the header/,
    );
  });

  it('a file truncated inside its last tensor', async () => {
    const header =
      '{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"z":{"dtype":"F32","shape":[4],"data_offsets":[2,18]}}';
    const path = await scratch.write('cut.safetensors', handMadeSafetensors(header, new Uint8Array(18)));
    await truncate(path, 8 + header.length + 10);
    await expectInvalid(path, /the tensors need 18 bytes but only 10 follow the header \(truncated file\?\)/);
  });

  it('overlapping byte ranges', async () => {
    const header =
      '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}';
    await expectInvalid(
      await scratch.write('ov.safetensors', handMadeSafetensors(header, new Uint8Array(12))),
      /overlap the tensor before, which ends at byte 8/,
      'b',
    );
  });

  it('the same range used twice', async () => {
    const header =
      '{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}';
    await expectInvalid(
      await scratch.write('dup.safetensors', handMadeSafetensors(header, new Uint8Array(4))),
      /overlap/,
      'b',
    );
  });

  it('metadata values that are not strings', async () => {
    const header = '{"__metadata__":{"epochs":10},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}';
    await expectInvalid(
      await scratch.write('md.safetensors', handMadeSafetensors(header, new Uint8Array(1))),
      /value of 'epochs' must be a string/,
    );
  });

  it('metadata that is not an object', async () => {
    const header = '{"__metadata__":["a"]}';
    await expectInvalid(
      await scratch.write('mo.safetensors', handMadeSafetensors(header, new Uint8Array(0))),
      /'__metadata__' must be an object/,
    );
  });
});
