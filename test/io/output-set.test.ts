/**
 * Publishing output sets: an optional output an earlier set published and a later one lacks is unlinked (it would
 * point at nothing), but only when the name is this program's own link. One writer per folder: a second writer,
 * in another process or this one, fails while the first holds the folder's lock, and the first set comes out whole.
 */
import { existsSync } from 'node:fs';
import { lstat, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  OUTPUT_LOCK_FILE,
  OutputFolderBusyError,
  withOutputFolderLock,
} from '../../src/io/output-folder-lock.js';
import { cleanOutputFolder, publishedNames, stageOutputSet } from '../../src/io/output-set.js';
import { startLockProcess } from './lock-process.js';

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

/** The folder's names, a set folder's generated name replaced. */
async function listing(folder: string): Promise<string[]> {
  return (await readdir(folder)).map((n) => (n.startsWith('.mal-set-') ? '.mal-set-*' : n)).sort();
}

/** Cleans, stages and publishes `files` as one writer does, holding the folder's lock. */
async function lockedPublish(folder: string, files: Record<string, string>): Promise<void> {
  await withOutputFolderLock(folder, async () => {
    await cleanOutputFolder(folder);
    await publish(folder, files, []);
  });
}

describe('one writer per output folder', () => {
  it('a second writer process fails at once naming the first one, which then publishes its set whole', async () => {
    const folder = join(dir, 'two-processes');
    await lockedPublish(folder, { 'model.bin': 'older' });
    const first = startLockProcess(['write', folder, 'first']);
    expect(await first.line()).toBe('staged');
    const during = await listing(folder);
    expect(during).toEqual([OUTPUT_LOCK_FILE, '.mal-set-*', '.mal-set-*', 'current', 'model.bin']);

    const second = startLockProcess(['write', folder, 'second']);
    expect(await second.line()).toBe(
      `busy another mal process (pid ${first.pid}) is writing to ${folder}; wait for it or choose another output folder`,
    );
    expect(await second.exited).toBe(3);
    // In this process too, and the write it was given never starts.
    let started = false;
    const refused = withOutputFolderLock(folder, async () => {
      started = true;
    });
    await expect(refused).rejects.toBeInstanceOf(OutputFolderBusyError);
    await expect(refused).rejects.toMatchObject({ folder, pid: first.pid });
    expect(started).toBe(false);
    expect(await listing(folder)).toEqual(during);
    expect(await readFile(join(folder, 'model.bin'), 'utf8')).toBe('older');

    first.proceed();
    expect(await first.line()).toBe('published');
    expect(await first.exited).toBe(0);
    expect(await readFile(join(folder, 'model.bin'), 'utf8')).toBe('first');
    expect(await listing(folder)).toEqual(['.mal-set-*', 'current', 'model.bin']);
  });

  it('a second writer in the same process fails while the first holds the lock, and the first set is intact', async () => {
    const folder = join(dir, 'one-process');
    await withOutputFolderLock(folder, async () => {
      await cleanOutputFolder(folder);
      const set = await stageOutputSet(folder);
      await writeFile(set.path('model.bin'), 'first');
      await expect(lockedPublish(folder, { 'model.bin': 'second' })).rejects.toThrow(
        `another mal process (pid ${process.pid}) is writing to ${folder}; wait for it or choose another output folder`,
      );
      await set.publish(['model.bin']);
    });
    expect(await readFile(join(folder, 'model.bin'), 'utf8')).toBe('first');
    expect(await listing(folder)).toEqual(['.mal-set-*', 'current', 'model.bin']);
  });

  it('the lock is no output: cleaning keeps it, publishedNames does not list it, and it is gone after the write', async () => {
    const folder = join(dir, 'not-an-output');
    await lockedPublish(folder, { 'model.bin': 'one', 'extra.bin': 'two' });
    await withOutputFolderLock(folder, async () => {
      await cleanOutputFolder(folder);
      expect(existsSync(join(folder, OUTPUT_LOCK_FILE))).toBe(true);
      expect((await publishedNames(folder)).sort()).toEqual(['extra.bin', 'model.bin']);
    });
    expect(existsSync(join(folder, OUTPUT_LOCK_FILE))).toBe(false);
  });

  it('a writer killed while holding the lock leaves it to the next writer, which cleans up after it', async () => {
    const folder = join(dir, 'killed');
    await lockedPublish(folder, { 'model.bin': 'older' });
    const killed = startLockProcess(['write', folder, 'killed']);
    expect(await killed.line()).toBe('staged');
    killed.child.kill('SIGKILL');
    await killed.exited;
    expect(await readFile(join(folder, OUTPUT_LOCK_FILE), 'utf8')).toBe(`${killed.pid}\n`);
    await lockedPublish(folder, { 'model.bin': 'next' });
    expect(await readFile(join(folder, 'model.bin'), 'utf8')).toBe('next');
    expect(await listing(folder)).toEqual(['.mal-set-*', 'current', 'model.bin']);
  });
});
