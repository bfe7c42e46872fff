import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashModel } from '../../src/zoo/model-hash.js';
import { scratch, writeMlpFile, writeShardedMlp } from './zoo-fixtures.js';

function sha256(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function flipLastByte(file: string): Promise<void> {
  const bytes = await readFile(file);
  bytes[bytes.length - 1] ^= 1;
  await writeFile(file, bytes);
}

describe('model content hash', () => {
  let dir: { path: string; remove: () => Promise<void> };
  beforeEach(async () => {
    dir = await scratch();
  });
  afterEach(async () => {
    await dir.remove();
  });

  it("is the file's SHA-256 for a single file, whether named directly or by its folder", async () => {
    const file = await writeMlpFile(join(dir.path, 'model.safetensors'), [6, 5, 3], 1);
    const expected = sha256(await readFile(file));
    expect((await hashModel(file)).sha256).toBe(expected);
    expect((await hashModel(dir.path)).sha256).toBe(expected);
  });

  it('changes when one byte changes', async () => {
    const file = await writeMlpFile(join(dir.path, 'm.safetensors'), [6, 5, 3], 1);
    const before = (await hashModel(file)).sha256;
    await flipLastByte(file);
    expect((await hashModel(file)).sha256).not.toBe(before);
  });

  it('covers the index and every shard, in order', async () => {
    const folder = await writeShardedMlp(join(dir.path, 'sharded'), [6, 5, 3], 2);
    const result = await hashModel(folder);
    const names = result.files.map((f) => f.slice(folder.length + 1));
    expect(names[0]).toBe('model.safetensors.index.json');
    const shards = (await readdir(folder)).filter((f) => f.endsWith('.safetensors')).sort();
    expect(shards.length).toBeGreaterThan(1);
    expect(names.slice(1)).toEqual(shards);
    let listing = '';
    for (const name of names) listing += `${sha256(await readFile(join(folder, name)))}  ${name}\n`;
    expect(result.sha256).toBe(sha256(listing));
  });

  it('changes when a byte of any shard or of the index changes', async () => {
    const folder = await writeShardedMlp(join(dir.path, 'sharded'), [6, 5, 3], 2);
    const { sha256: original, files } = await hashModel(folder);
    const seen = new Set([original]);
    for (const file of [files[files.length - 1], files[1]]) {
      await flipLastByte(file);
      const now = (await hashModel(folder)).sha256;
      expect(seen.has(now)).toBe(false);
      seen.add(now);
    }
    const index = files[0];
    await writeFile(index, `${await readFile(index, 'utf8')} `);
    expect(seen.has((await hashModel(folder)).sha256)).toBe(false);
  });

  it('reports a missing shard by its file name', async () => {
    const folder = await writeShardedMlp(join(dir.path, 'sharded'), [6, 5, 3], 2);
    const { files } = await hashModel(folder);
    const { rm } = await import('node:fs/promises');
    await rm(files[2]);
    await expect(hashModel(folder)).rejects.toThrow(`${files[2]}: no such file`);
  });
});
