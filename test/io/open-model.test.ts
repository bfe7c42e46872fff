import { mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidFileError } from '../../src/errors.js';
import { locateModel, openModel, readModelConfig } from '../../src/io/open-model.js';
import { handMadeSafetensors, type ScratchFolder, scratchFolder } from './safetensors-file-fixtures.js';

let scratch: ScratchFolder;
beforeEach(async () => {
  scratch = await scratchFolder();
});
afterEach(async () => {
  await scratch.remove();
});

const ONE_TENSOR = handMadeSafetensors(
  '{"w":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}',
  Uint8Array.of(4, 2),
);

async function shardedIn(folder: string, indexName = 'model.safetensors.index.json'): Promise<string> {
  await mkdir(join(scratch.path, folder), { recursive: true });
  await scratch.write(`${folder}/part-1.safetensors`, ONE_TENSOR);
  return scratch.write(
    `${folder}/${indexName}`,
    JSON.stringify({ metadata: {}, weight_map: { w: 'part-1.safetensors' } }),
  );
}

describe('openModel', () => {
  it('opens a .safetensors file', async () => {
    const file = await scratch.write('any-name.safetensors', ONE_TENSOR);
    const model = await openModel(file);
    expect(model.path).toBe(file);
    expect(Array.from((await model.read('w')).bytes)).toEqual([4, 2]);
    await model.close();
  });

  it('opens a folder holding model.safetensors, preferring it over other files', async () => {
    await scratch.write('model.safetensors', ONE_TENSOR);
    await scratch.write('other.safetensors', ONE_TENSOR);
    const model = await openModel(scratch.path);
    expect(model.path).toBe(scratch.file('model.safetensors'));
    await model.close();
  });

  it('opens a sharded model from its folder or its index file', async () => {
    const index = await shardedIn('sharded');
    const fromFolder = await openModel(join(scratch.path, 'sharded'));
    expect(fromFolder.path).toBe(index);
    expect(fromFolder.tensorNames()).toEqual(['w']);
    await fromFolder.close();
    const fromIndex = await openModel(index);
    expect(Array.from((await fromIndex.read('w')).bytes)).toEqual([4, 2]);
    await fromIndex.close();
  });

  it('takes a dangling model.safetensors link for no file, as Hugging Face does, and opens the index', async () => {
    // An output set links its next files just before it switches to them (src/io/output-set.ts).
    const index = await shardedIn('switching');
    await symlink(join('current', 'model.safetensors'), join(scratch.path, 'switching', 'model.safetensors'));
    expect(await locateModel(join(scratch.path, 'switching'))).toEqual({ kind: 'sharded', index });
  });

  it('finds a lone index or a lone .safetensors file under another name', async () => {
    const index = await shardedIn('odd', 'pytorch_model.safetensors.index.json');
    expect(await locateModel(join(scratch.path, 'odd'))).toEqual({ kind: 'sharded', index });
    await mkdir(scratch.file('single'));
    const file = await scratch.write('single/weights.safetensors', ONE_TENSOR);
    expect(await locateModel(scratch.file('single'))).toEqual({ kind: 'single', file });
  });

  it('says clearly when the path does not exist', async () => {
    const missing = scratch.file('nope');
    await expect(openModel(missing)).rejects.toThrow(InvalidFileError);
    await expect(openModel(missing)).rejects.toThrow(`${missing}: no such file or folder`);
  });

  it('says clearly when a folder holds no model', async () => {
    await scratch.write('readme.txt', 'hi');
    await expect(openModel(scratch.path)).rejects.toThrow(
      /no model\.safetensors, model\.safetensors\.index\.json/,
    );
  });

  it('refuses to guess between several candidate files', async () => {
    await scratch.write('a.safetensors', ONE_TENSOR);
    await scratch.write('b.safetensors', ONE_TENSOR);
    await expect(openModel(scratch.path)).rejects.toThrow(
      /several candidates \(a\.safetensors, b\.safetensors\)/,
    );
  });
});

describe('readModelConfig', () => {
  it('reads config.json beside a folder or a file', async () => {
    const file = await scratch.write('model.safetensors', ONE_TENSOR);
    await scratch.write('config.json', '{"num_attention_heads": 12, "model_type": "gpt2"}');
    const expected = { num_attention_heads: 12, model_type: 'gpt2' };
    expect(await readModelConfig(scratch.path)).toEqual(expected);
    expect(await readModelConfig(file)).toEqual(expected);
  });

  it('returns undefined without a config.json', async () => {
    const file = await scratch.write('model.safetensors', ONE_TENSOR);
    expect(await readModelConfig(file)).toBeUndefined();
    expect(await readModelConfig(scratch.path)).toBeUndefined();
  });

  it('refuses a config.json that is not a JSON object, naming it', async () => {
    const config = await scratch.write('config.json', '[1, 2]');
    await expect(readModelConfig(scratch.path)).rejects.toThrow(`${config}: must be a JSON object`);
    await scratch.write('config.json', '{oops');
    await expect(readModelConfig(scratch.path)).rejects.toThrow(InvalidFileError);
  });
});
