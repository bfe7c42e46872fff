import { readdir, readFile, rm } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidFileError } from '../../src/errors.js';
import type { TensorEntry } from '../../src/io/safetensors-writer.js';
import { ShardedModel } from '../../src/io/sharded-model.js';
import { splitIntoShards, writeShardedSafetensors } from '../../src/io/sharded-writer.js';
import { handMadeSafetensors, type ScratchFolder, scratchFolder } from './safetensors-file-fixtures.js';

let scratch: ScratchFolder;
beforeEach(async () => {
  scratch = await scratchFolder();
});
afterEach(async () => {
  await scratch.remove();
});

function u8Shard(names: Record<string, number[]>, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = metadata === undefined ? {} : { __metadata__: metadata };
  const data: number[] = [];
  for (const [name, values] of Object.entries(names)) {
    header[name] = {
      dtype: 'U8',
      shape: [values.length],
      data_offsets: [data.length, data.length + values.length],
    };
    data.push(...values);
  }
  return handMadeSafetensors(JSON.stringify(header), Uint8Array.from(data));
}

async function writeIndex(weightMap: Record<string, string>): Promise<string> {
  return scratch.write(
    'model.safetensors.index.json',
    JSON.stringify({ metadata: { total_size: 5 }, weight_map: weightMap }),
  );
}

async function expectInvalid(indexPath: string, pattern: RegExp, tensor?: string): Promise<void> {
  const error = await ShardedModel.open(indexPath).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InvalidFileError);
  expect((error as InvalidFileError).message).toContain(indexPath);
  expect((error as InvalidFileError).message).toMatch(pattern);
  expect((error as InvalidFileError).tensor).toBe(tensor);
}

describe('ShardedModel on hand-made shards', () => {
  it('reads tensors across shards in shard order, with the first shard’s metadata', async () => {
    await scratch.write('model-00002-of-00002.safetensors', u8Shard({ c: [5] }, { part: '2' }));
    await scratch.write('model-00001-of-00002.safetensors', u8Shard({ b: [3, 4], a: [1, 2] }, { part: '1' }));
    const index = await writeIndex({
      a: 'model-00001-of-00002.safetensors',
      b: 'model-00001-of-00002.safetensors',
      c: 'model-00002-of-00002.safetensors',
    });
    const model = await ShardedModel.open(index);
    expect(model.path).toBe(index);
    expect(model.tensorNames()).toEqual(['b', 'a', 'c']);
    expect(model.metadata).toEqual({ part: '1' });
    expect(model.indexMetadata).toEqual({ total_size: 5 });
    expect(model.info('c')).toEqual({ name: 'c', dtype: 'U8', shape: [1] });
    expect(Array.from((await model.read('a')).bytes)).toEqual([1, 2]);
    expect(Array.from((await model.read('c')).bytes)).toEqual([5]);
    const all: string[] = [];
    for await (const { name, tensor } of model.readMany())
      all.push(`${name}=${Array.from(tensor.bytes).join(',')}`);
    expect(all).toEqual(['b=3,4', 'a=1,2', 'c=5']);
    await expect(model.read('zz')).rejects.toThrow(InvalidFileError);
    await model.close();
  });

  it('refuses a missing shard file', async () => {
    await scratch.write('s1.safetensors', u8Shard({ a: [1] }));
    const index = await writeIndex({ a: 's1.safetensors', b: 's2.safetensors' });
    await expectInvalid(index, /shard file 's2\.safetensors' listed in the index does not exist/);
  });

  it('refuses a tensor listed in the index but absent from its shard', async () => {
    await scratch.write('s1.safetensors', u8Shard({ a: [1] }));
    const index = await writeIndex({ a: 's1.safetensors', ghost: 's1.safetensors' });
    await expectInvalid(index, /listed for shard 's1\.safetensors' but absent from it/, 'ghost');
  });

  it('refuses a tensor held by two shards', async () => {
    await scratch.write('s1.safetensors', u8Shard({ a: [1], dup: [2] }));
    await scratch.write('s2.safetensors', u8Shard({ dup: [3] }));
    const index = await writeIndex({ a: 's1.safetensors', dup: 's1.safetensors', other: 's2.safetensors' });
    await expectInvalid(index, /held by two shards/, 'dup');
  });

  it('refuses a tensor found in a shard other than the one listed', async () => {
    await scratch.write('s1.safetensors', u8Shard({ a: [1] }));
    await scratch.write('s2.safetensors', u8Shard({ b: [3] }));
    const index = await writeIndex({ a: 's2.safetensors', b: 's1.safetensors' });
    await expectInvalid(index, /listed for shard 's2\.safetensors' but held by/, 'a');
  });

  it('refuses a tensor a shard holds that the index does not list', async () => {
    await scratch.write('s1.safetensors', u8Shard({ a: [1], extra: [2] }));
    const index = await writeIndex({ a: 's1.safetensors' });
    await expectInvalid(index, /not listed in the index/, 'extra');
  });

  it('refuses an index that is not JSON, lacks weight_map, or points outside its folder', async () => {
    const bad = await scratch.write('model.safetensors.index.json', '{"weight_map": ');
    await expectInvalid(bad, /not valid JSON/);
    await scratch.write('model.safetensors.index.json', '{"metadata": {}}');
    await expectInvalid(bad, /'weight_map' must be an object/);
    await writeIndex({ a: '../elsewhere.safetensors' });
    await expectInvalid(bad, /file name beside the index/, 'a');
    await writeIndex({});
    await expectInvalid(bad, /lists no tensors/);
  });

  it('refuses an index listing a tensor twice (JSON.parse would keep the last shard)', async () => {
    await scratch.write('s1.safetensors', u8Shard({ a: [1] }));
    await scratch.write('s2.safetensors', u8Shard({ b: [2] }));
    const index = await scratch.write(
      'model.safetensors.index.json',
      '{"weight_map": {"a": "s2.safetensors", "b": "s2.safetensors", "a": "s1.safetensors"}}',
    );
    await expectInvalid(index, /'weight_map' names 'a' twice/);
  });

  it('reports a malformed shard with the shard’s name', async () => {
    await scratch.write('s1.safetensors', Uint8Array.of(1, 2, 3));
    const index = await writeIndex({ a: 's1.safetensors' });
    await expect(ShardedModel.open(index)).rejects.toThrow(/s1\.safetensors: file is 3 bytes/);
  });
});

describe('writeShardedSafetensors', () => {
  const entries: TensorEntry[] = [
    { name: 'embed', dtype: 'F32', shape: [4] }, // 16 bytes
    { name: 'l0', dtype: 'F32', shape: [2] }, // 8
    { name: 'l1', dtype: 'F32', shape: [2] }, // 8
    { name: 'big', dtype: 'F32', shape: [10] }, // 40, larger than a shard
    { name: 'head', dtype: 'U8', shape: [3] }, // 3
  ];
  const produce = (name: string) => {
    const entry = entries.find((e) => e.name === name)!;
    const n = entry.shape[0] * (entry.dtype === 'F32' ? 4 : 1);
    return Uint8Array.from({ length: n }, (_, k) => (name.length * 17 + k) & 0xff);
  };

  it('splits greedily by size, giving an oversized tensor a shard of its own', () => {
    expect(splitIntoShards(entries, 24).map((g) => g.map((e) => e.name))).toEqual([
      ['embed', 'l0'],
      ['l1'],
      ['big'],
      ['head'],
    ]);
    expect(splitIntoShards([], 24)).toEqual([[]]);
  });

  it('round-trips through ShardedModel', async () => {
    const result = await writeShardedSafetensors(scratch.path, entries, produce, {
      maxShardBytes: 24,
      metadata: { format: 'pt' },
    });
    expect((await readdir(scratch.path)).sort()).toEqual([
      'model-00001-of-00004.safetensors',
      'model-00002-of-00004.safetensors',
      'model-00003-of-00004.safetensors',
      'model-00004-of-00004.safetensors',
      'model.safetensors.index.json',
    ]);
    const index = JSON.parse(await readFile(result.indexPath, 'utf8'));
    expect(index.metadata).toEqual({ total_size: 75 });
    expect(index.weight_map).toEqual({
      embed: 'model-00001-of-00004.safetensors',
      l0: 'model-00001-of-00004.safetensors',
      l1: 'model-00002-of-00004.safetensors',
      big: 'model-00003-of-00004.safetensors',
      head: 'model-00004-of-00004.safetensors',
    });
    const model = await ShardedModel.open(result.indexPath);
    expect(model.tensorNames()).toEqual(['embed', 'l0', 'l1', 'big', 'head']);
    expect(model.metadata).toEqual({ format: 'pt' });
    for (const e of entries) {
      const t = await model.read(e.name);
      expect(t.dtype).toBe(e.dtype);
      expect(t.shape).toEqual(e.shape);
      expect(Array.from(t.bytes)).toEqual(Array.from(produce(e.name)));
    }
    await model.close();
  });

  it('leaves the folder as it was when a producer fails in a later shard', async () => {
    await scratch.write('keep.txt', 'k');
    const failing = (name: string) => {
      if (name === 'big') throw new Error('merge failed');
      return produce(name);
    };
    await expect(
      writeShardedSafetensors(scratch.path, entries, failing, { maxShardBytes: 24 }),
    ).rejects.toThrow('merge failed');
    expect(await readdir(scratch.path)).toEqual(['keep.txt']);
    await rm(scratch.file('keep.txt'));
  });
});
