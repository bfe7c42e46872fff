/**
 * The step store on real files: a damaged step record (not JSON, or JSON of the wrong shape) is set aside like a
 * damaged blob, so a resumed run recomputes that step instead of crashing on it.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContentStore } from '../../src/store/content-store.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mal-store-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const isKeyed = (value: unknown): value is { key: string } =>
  typeof value === 'object' && value !== null && typeof (value as { key?: unknown }).key === 'string';

describe('ContentStore records', () => {
  it('reads back what it stored', async () => {
    const store = await ContentStore.open(join(dir, 'good'));
    await store.putRecord('k', { key: 'v' });
    expect(await store.getRecord('k', isKeyed)).toEqual({ key: 'v' });
    expect(await store.getRecord('absent', isKeyed)).toBeUndefined();
  });

  it.each([
    ['a truncated record', '{"step": {"index": 0, "stat'],
    ['bytes that are not text', '\u0000\u0001\u00ff garbage'],
    ['an empty file', ''],
  ])('sets aside %s (not JSON) and reports it absent', async (_name, text) => {
    const store = await ContentStore.open(join(dir, `bad-${_name.replaceAll(' ', '-')}`));
    await writeFile(store.recordPath('k'), text);
    expect(await store.getRecord('k', isKeyed)).toBeUndefined();
    const files = await readdir(join(store.root, 'steps'));
    expect(files).toEqual(['k.json.corrupt']);
    expect(await readFile(join(store.root, 'steps', 'k.json.corrupt'), 'utf8')).toBe(text);
    // The next put writes a good record where the damaged one was.
    await store.putRecord('k', { key: 'again' });
    expect(await store.getRecord('k', isKeyed)).toEqual({ key: 'again' });
  });

  it('sets aside JSON of the wrong shape', async () => {
    const store = await ContentStore.open(join(dir, 'shape'));
    await writeFile(store.recordPath('k'), '[1, 2, 3]\n');
    expect(await store.getRecord('k', isKeyed)).toBeUndefined();
    expect(await readdir(join(store.root, 'steps'))).toEqual(['k.json.corrupt']);
  });

  it('a blob whose bytes do not match its name is set aside', async () => {
    const store = await ContentStore.open(join(dir, 'blob'));
    const hash = await store.putBlob(new Uint8Array([1, 2, 3]), '.bin');
    await writeFile(store.blobPath(hash, '.bin'), new Uint8Array([9]));
    expect(await store.getBlob(hash, '.bin')).toBeUndefined();
    expect(await readdir(join(store.root, 'objects'))).toEqual([`${hash}.bin.corrupt`]);
  });
});
