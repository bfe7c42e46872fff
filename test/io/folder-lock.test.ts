/**
 * The pid lock file (src/io/folder-lock.ts): one holder at a time across processes, a dead holder's lock broken
 * (also when several processes find it at once), a living holder's never, and this process's own pid told apart
 * from an earlier process that had the same one.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type FolderLockOptions,
  removeStaleFolderLock,
  tryFolderLock,
  waitForFolderLock,
} from '../../src/io/folder-lock.js';
import { deadPid, startLockProcess } from './lock-process.js';

const OPTIONS: FolderLockOptions = { label: 'test lock', doing: 'take the test lock' };

let dir: string;
let count = 0;
/** A fresh folder for one test, and the path of its lock. */
async function lockIn(): Promise<{ folder: string; lock: string }> {
  const folder = join(dir, `f${++count}`);
  await mkdir(folder);
  return { folder, lock: join(folder, 'test.lock') };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mal-folder-lock-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('tryFolderLock', () => {
  it('writes its pid into the lock, refuses a second taker in this process, and removes the lock on release', async () => {
    const { folder, lock } = await lockIn();
    const first = await tryFolderLock(lock, OPTIONS);
    expect(first.taken).toBe(true);
    expect(await readFile(lock, 'utf8')).toBe(`${process.pid}\n`);
    expect(await tryFolderLock(lock, OPTIONS)).toEqual({ taken: false, holder: process.pid });
    if (first.taken) await first.lock.release();
    expect(await readdir(folder)).toEqual([]);
    const again = await tryFolderLock(lock, OPTIONS);
    expect(again.taken).toBe(true);
    if (again.taken) await again.lock.release();
  });

  it('lets only one of two takers in one process have it, when both start at once', async () => {
    const { lock } = await lockIn();
    const attempts = await Promise.all([tryFolderLock(lock, OPTIONS), tryFolderLock(lock, OPTIONS)]);
    expect(attempts.filter((a) => a.taken)).toHaveLength(1);
    for (const a of attempts) if (a.taken) await a.lock.release();
  });

  it('fails without a folder to put the lock in, unless asked to create it', async () => {
    const lock = join(dir, 'not-yet', 'deeper', 'test.lock');
    await expect(tryFolderLock(lock, OPTIONS)).rejects.toThrow(/not-yet.*take the test lock/);
    const created = await tryFolderLock(lock, { ...OPTIONS, createFolder: true });
    expect(created.taken).toBe(true);
    if (created.taken) await created.lock.release();
    expect(existsSync(join(dir, 'not-yet', 'deeper'))).toBe(true);
  });

  it('reports a living holder in another process by its pid, and takes the lock once it is released', async () => {
    const { lock } = await lockIn();
    const holder = startLockProcess(['lock', lock]);
    expect(await holder.line()).toBe('taken');
    expect(await tryFolderLock(lock, OPTIONS)).toEqual({ taken: false, holder: holder.pid });
    await removeStaleFolderLock(lock);
    expect(await readFile(lock, 'utf8')).toBe(`${holder.pid}\n`);
    holder.proceed();
    expect(await holder.line()).toBe('released');
    expect(await holder.exited).toBe(0);
    const after = await tryFolderLock(lock, OPTIONS);
    expect(after.taken).toBe(true);
    if (after.taken) await after.lock.release();
  });

  it('breaks the lock of a holder killed while holding it', async () => {
    const { folder, lock } = await lockIn();
    const holder = startLockProcess(['lock', lock]);
    expect(await holder.line()).toBe('taken');
    holder.child.kill('SIGKILL');
    await holder.exited;
    expect(await readFile(lock, 'utf8')).toBe(`${holder.pid}\n`);
    const attempt = await tryFolderLock(lock, OPTIONS);
    expect(attempt.taken).toBe(true);
    expect(await readFile(lock, 'utf8')).toBe(`${process.pid}\n`);
    if (attempt.taken) await attempt.lock.release();
    // The lock moved aside to break it is gone too.
    expect(await readdir(folder)).toEqual([]);
  });

  it('breaks a lock naming a dead pid, a garbled one, one of its own pid it does not hold, and one empty too long', async () => {
    const old = new Date(Date.now() - 60_000);
    const cases: [string, string][] = [
      ['dead pid', `${await deadPid()}\n`],
      ['garbled', 'not a pid\n'],
      ['own pid of an earlier process', `${process.pid}\n`],
      ['empty for a minute', ''],
    ];
    for (const [name, text] of cases) {
      const { lock } = await lockIn();
      await writeFile(lock, text);
      if (text === '') await utimes(lock, old, old);
      const attempt = await tryFolderLock(lock, OPTIONS);
      expect({ name, taken: attempt.taken }).toEqual({ name, taken: true });
      if (attempt.taken) await attempt.lock.release();
    }
  });

  it('waits for an empty lock just made to name its holder, and reports that holder', async () => {
    const { lock } = await lockIn();
    const holder = startLockProcess(['lock', join(dir, 'elsewhere.lock')]);
    expect(await holder.line()).toBe('taken');
    await writeFile(lock, '');
    setTimeout(() => void writeFile(lock, `${holder.pid}\n`), 300);
    expect(await tryFolderLock(lock, OPTIONS)).toEqual({ taken: false, holder: holder.pid });
    holder.proceed();
    await holder.exited;
  });

  it('lets exactly one of several processes take a free lock', async () => {
    const { lock } = await lockIn();
    await racers(lock);
  });

  it('lets exactly one of several processes take a stale lock they all find at once', async () => {
    const { folder, lock } = await lockIn();
    await writeFile(lock, `${await deadPid()}\n`);
    await racers(lock);
    expect(await readdir(folder)).toEqual([]);
  });
});

/** Starts four processes taking `lock` at once: one has it, the others name it as the holder; then all end. */
async function racers(lock: string): Promise<void> {
  const processes = [0, 1, 2, 3].map(() => startLockProcess(['lock', lock]));
  const said = await Promise.all(processes.map((p) => p.line()));
  const takers = processes.filter((_, i) => said[i] === 'taken');
  expect(takers, said.join('; ')).toHaveLength(1);
  expect(said.filter((s) => s !== 'taken').sort()).toEqual(new Array(3).fill(`busy ${takers[0].pid}`));
  // The busy ones have ended already (writing to them would fail with EPIPE): only the taker waits to go on.
  takers[0].proceed();
  expect(await Promise.all(processes.map((p) => p.exited))).toEqual([0, 0, 0, 0]);
}

describe('waitForFolderLock', () => {
  it('waits while the lock is held and takes it once released', async () => {
    const { lock } = await lockIn();
    const holder = startLockProcess(['lock', lock]);
    expect(await holder.line()).toBe('taken');
    setTimeout(() => holder.proceed(), 300);
    const started = Date.now();
    const taken = await waitForFolderLock(lock, OPTIONS, 20_000);
    expect(taken).toBeDefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    await taken?.release();
    await holder.exited;
  });

  it('gives up after its timeout while a living process holds it', async () => {
    const { lock } = await lockIn();
    const held = await tryFolderLock(lock, OPTIONS);
    expect(await waitForFolderLock(lock, OPTIONS, 200)).toBeUndefined();
    if (held.taken) await held.lock.release();
  });
});

describe('removeStaleFolderLock', () => {
  it('removes a dead holder’s lock and leaves a living one’s (this process’s own included)', async () => {
    const { lock } = await lockIn();
    await writeFile(lock, `${await deadPid()}\n`);
    await removeStaleFolderLock(lock);
    expect(existsSync(lock)).toBe(false);
    const held = await tryFolderLock(lock, OPTIONS);
    expect(held.taken).toBe(true);
    await removeStaleFolderLock(lock);
    expect(await readFile(lock, 'utf8')).toBe(`${process.pid}\n`);
    if (held.taken) await held.lock.release();
  });
});
