/**
 * Publishing output sets: an optional output an earlier set published and a later one lacks is unlinked (it would
 * point at nothing), but only when the name is this program's own link.
 */
import { existsSync } from 'node:fs';
import { lstat, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stageOutputSet } from '../../src/io/output-set.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mal-output-set-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function publish(folder: string, files: Record<string, string>, retired: string[]): Promise<void> {
  const set = await stageOutputSet(folder);
  for (const [name, text] of Object.entries(files)) await writeFile(set.path(name), text);
  await set.publish(Object.keys(files), retired);
}

describe('stageOutputSet: retired names', () => {
  it('unlinks an optional output the new set lacks, and links it again when a later set has it', async () => {
    const folder = join(dir, 'a');
    await publish(folder, { 'model.bin': 'one', 'extra.bin': 'extra one' }, ['extra.bin']);
    expect(await readFile(join(folder, 'extra.bin'), 'utf8')).toBe('extra one');
    await publish(folder, { 'model.bin': 'two' }, ['extra.bin']);
    expect(await readFile(join(folder, 'model.bin'), 'utf8')).toBe('two');
    expect(existsSync(join(folder, 'extra.bin'))).toBe(false);
    await expect(lstat(join(folder, 'extra.bin'))).rejects.toThrow();
    await publish(folder, { 'model.bin': 'three', 'extra.bin': 'extra three' }, ['extra.bin']);
    expect(await readFile(join(folder, 'extra.bin'), 'utf8')).toBe('extra three');
  });

  it('leaves a file of that name that is not its link', async () => {
    const folder = join(dir, 'b');
    await publish(folder, { 'model.bin': 'one' }, ['extra.bin']);
    await writeFile(join(folder, 'extra.bin'), 'the user’s own');
    await publish(folder, { 'model.bin': 'two' }, ['extra.bin']);
    expect(await readFile(join(folder, 'extra.bin'), 'utf8')).toBe('the user’s own');
  });
});
