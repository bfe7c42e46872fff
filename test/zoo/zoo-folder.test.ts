import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256File } from '../../src/zoo/model-hash.js';
import {
  addModelToZoo,
  findZooEntry,
  idFromPath,
  openZoo,
  verifyZoo,
  zooModelPath,
} from '../../src/zoo/zoo-folder.js';
import { readZooManifest } from '../../src/zoo/zoo-manifest.js';
import { zooFactsToMetadata } from '../../src/zoo/zoo-model-metadata.js';
import { scratch, writeMlpFile, writeShardedMlp, writeUnplaceableFile } from './zoo-fixtures.js';

describe('zoo folder', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let zooDir: string;
  let sources: string;
  beforeEach(async () => {
    dir = await scratch();
    zooDir = join(dir.path, 'zoo');
    sources = join(dir.path, 'sources');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(sources);
  });
  afterEach(async () => {
    await dir.remove();
  });

  it('does not create a zoo when only reading, and creates an empty one when asked', async () => {
    await expect(openZoo(zooDir)).rejects.toThrow(/zoo\.json: no such file/);
    const zoo = await openZoo(zooDir, { create: true });
    expect(zoo.manifest).toEqual({ version: 1, models: [] });
    expect(await readdir(zooDir)).toEqual(['zoo.json']);
  });

  it('copies a readable model in and records its family, widths and hash', async () => {
    const source = await writeMlpFile(join(sources, 'small-mlp.safetensors'), [8, 6, 4, 3], 5);
    const zoo = await openZoo(zooDir, { create: true });
    const now = new Date('2025-03-04T05:06:07Z');
    const { entry } = await addModelToZoo(zoo, source, { dataset: 'toy:train', seed: 5, now });
    expect(entry).toEqual({
      id: 'small-mlp',
      path: 'models/small-mlp.safetensors',
      sha256: await sha256File(source),
      dataset: 'toy:train',
      seed: 5,
      metrics: {},
      provenance: { kind: 'added', from: source, at: now.toISOString(), link: false },
      readable: true,
      family: 'mlp',
      widths: { input: 8, 'layers.0': 6, 'layers.1': 4, output: 3 },
    });
    const reopened = await openZoo(zooDir);
    expect(reopened.manifest.models).toEqual([entry]);
    const copy = zooModelPath(reopened, entry);
    expect(await readFile(copy)).toEqual(await readFile(source));
  });

  it('lists a model whose tensors fit no family as unreadable, with the reason', async () => {
    const source = await writeUnplaceableFile(join(sources, 'blob.safetensors'));
    const zoo = await openZoo(zooDir, { create: true });
    const { entry } = await addModelToZoo(zoo, source);
    expect(entry.readable).toBe(false);
    if (entry.readable) return;
    expect(entry.reason).toMatch(/tensor 'blob\.weight' has shape \[2, 3, 4\]/);
    expect(entry.sha256).toBe(await sha256File(source));
    expect((await readZooManifest(zooDir)).models).toEqual([entry]);
  });

  it('lists a file that is not safetensors at all as unreadable', async () => {
    const source = join(sources, 'junk.safetensors');
    await writeFile(source, 'not a safetensors file');
    const zoo = await openZoo(zooDir, { create: true });
    const { entry } = await addModelToZoo(zoo, source);
    expect(entry).toMatchObject({ id: 'junk', readable: false });
    if (!entry.readable) expect(entry.reason).toContain('junk.safetensors');
  });

  it('refuses a path that does not exist, leaving the zoo as it was', async () => {
    const zoo = await openZoo(zooDir, { create: true });
    await expect(addModelToZoo(zoo, join(sources, 'nothing.safetensors'))).rejects.toThrow(/no such file/);
    expect((await readZooManifest(zooDir)).models).toEqual([]);
  });

  it('refuses a duplicate id before copying anything', async () => {
    const source = await writeMlpFile(join(sources, 'a.safetensors'), [4, 3, 2], 1);
    let zoo = await openZoo(zooDir, { create: true });
    await addModelToZoo(zoo, source, { id: 'same' });
    zoo = await openZoo(zooDir);
    const other = await writeMlpFile(join(sources, 'b.safetensors'), [4, 3, 2], 2);
    await expect(addModelToZoo(zoo, other, { id: 'same' })).rejects.toThrow(
      /already has a model with id 'same'/,
    );
    expect(await readdir(join(zooDir, 'models'))).toEqual(['same.safetensors']);
    // The same bytes again under the same id: nothing to do, and said so.
    const again = await addModelToZoo(zoo, source, { id: 'same' });
    expect(again.added).toBe(false);
    expect((await readZooManifest(zooDir)).models.map((m) => m.id)).toEqual(['same']);
  });

  it('keeps the additions of a stale handle (re-reads the manifest under the lock)', async () => {
    const a = await writeMlpFile(join(sources, 'a.safetensors'), [4, 3, 2], 1);
    const b = await writeMlpFile(join(sources, 'b.safetensors'), [4, 5, 2], 2);
    const zoo = await openZoo(zooDir, { create: true });
    await Promise.all([addModelToZoo(zoo, a), addModelToZoo(zoo, b)]);
    const ids = (await readZooManifest(zooDir)).models.map((m) => m.id).sort();
    expect(ids).toEqual(['a', 'b']);
  });

  it('copies a sharded model as a folder and can link instead of copying', async () => {
    const folder = await writeShardedMlp(join(sources, 'big'), [6, 5, 3], 2);
    const zoo = await openZoo(zooDir, { create: true });
    const { entry: copied } = await addModelToZoo(zoo, folder);
    expect(copied).toMatchObject({ id: 'big', path: 'models/big', readable: true, family: 'mlp' });
    expect((await readdir(join(zooDir, 'models', 'big'))).sort()).toEqual((await readdir(folder)).sort());
    const { entry: linked } = await addModelToZoo(await openZoo(zooDir), folder, {
      id: 'big-linked',
      link: true,
    });
    expect(linked.path).toBe('../sources/big');
    expect(linked.sha256).toBe(copied.sha256);
    expect(linked.provenance).toMatchObject({ kind: 'added', link: true });
  });

  it('takes id, data set, seed and metrics from metadata a zoo wrote', async () => {
    const metadata = zooFactsToMetadata({
      id: 'mlp-h6-s3-toy',
      dataset: 'toy:train',
      classes: [0, 1, 2],
      seed: 3,
      metrics: { 'toy:test': { loss: 0.5, accuracy: 0.75, examples: 40 } },
    });
    const source = await writeMlpFile(join(sources, 'x.safetensors'), [4, 6, 3], 3, metadata);
    const { entry } = await addModelToZoo(await openZoo(zooDir, { create: true }), source, { seed: 9 });
    expect(entry).toMatchObject({
      id: 'mlp-h6-s3-toy',
      dataset: 'toy:train',
      classes: [0, 1, 2],
      seed: 9,
      metrics: { 'toy:test': { loss: 0.5, accuracy: 0.75, examples: 40 } },
    });
  });

  it('verifies hashes: ok, changed, missing', async () => {
    const a = await writeMlpFile(join(sources, 'a.safetensors'), [4, 3, 2], 1);
    const b = await writeMlpFile(join(sources, 'b.safetensors'), [4, 3, 2], 2);
    const c = await writeMlpFile(join(sources, 'c.safetensors'), [4, 3, 2], 3);
    let zoo = await openZoo(zooDir, { create: true });
    for (const source of [a, b, c]) await addModelToZoo(await openZoo(zooDir), source);
    zoo = await openZoo(zooDir);
    const bytes = await readFile(join(zooDir, 'models', 'b.safetensors'));
    bytes[bytes.length - 1] ^= 1;
    await writeFile(join(zooDir, 'models', 'b.safetensors'), bytes);
    const { rm } = await import('node:fs/promises');
    await rm(join(zooDir, 'models', 'c.safetensors'));
    const results = await verifyZoo(zoo);
    expect(results.map((r) => [r.id, r.status])).toEqual([
      ['a', 'ok'],
      ['b', 'changed'],
      ['c', 'missing'],
    ]);
    expect(findZooEntry(zoo, 'a').id).toBe('a');
    expect(() => findZooEntry(zoo, 'zz')).toThrow(/no model with id 'zz' \(ids: a, b, c\)/);
  });

  it('makes ids from file names', () => {
    expect(idFromPath('/x/y/My Model.safetensors')).toBe('My-Model');
    expect(idFromPath('/x/y/.hidden.safetensors')).toBe('hidden');
    expect(idFromPath('/x/y/model.safetensors.index.json')).toBe('model');
  });
});
