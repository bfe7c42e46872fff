/**
 * The output folder's lock (src/io/output-folder-lock.ts): a folder made for the lock goes again when nothing was
 * written, and a command whose output folder another process is writing to exits non-zero at once, naming the
 * folder and that process, and writes nothing.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OUTPUT_LOCK_FILE, withOutputFolderLock } from '../../src/io/output-folder-lock.js';
import { writeLlamaShapedPair } from '../../src/zoo/llama-shaped-pair.js';
import { runMal } from '../support/run-mal.js';
import { startLockProcess } from './lock-process.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mal-output-lock-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('withOutputFolderLock', () => {
  it('is one lock for two spellings of one folder in one process (a symbolic link to it)', async () => {
    const folder = join(dir, 'aliased');
    await mkdir(folder);
    await symlink(folder, join(dir, 'alias'));
    let inside = 0;
    let most = 0;
    const write = (path: string) =>
      withOutputFolderLock(path, async () => {
        most = Math.max(most, ++inside);
        await new Promise((resolve) => setTimeout(resolve, 100));
        inside--;
      });
    const results = await Promise.allSettled([write(folder), write(join(dir, 'alias'))]);
    // Which spelling resolves first and takes the lock is a race; exactly one of them must.
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(most).toBe(1);
    expect(await readdir(folder)).toEqual([]);
  });

  it('creates a missing folder for the lock and removes it again when the write left nothing', async () => {
    const folder = join(dir, 'new', 'out');
    await expect(
      withOutputFolderLock(folder, async () => {
        expect(await readdir(folder)).toEqual([OUTPUT_LOCK_FILE]);
        throw new Error('the write failed');
      }),
    ).rejects.toThrow('the write failed');
    expect(existsSync(folder)).toBe(false);
  });

  it('keeps a folder it made that holds outputs, and one that was there before, without the lock', async () => {
    const made = join(dir, 'made');
    await withOutputFolderLock(made, () => writeFile(join(made, 'out.txt'), 'x'));
    expect(await readdir(made)).toEqual(['out.txt']);
    const existing = join(dir, 'existing');
    await mkdir(existing);
    await withOutputFolderLock(existing, async () => undefined);
    expect(await readdir(existing)).toEqual([]);
  });
});

describe('a command writing to a folder another process writes to', () => {
  it('`mal merge --out <folder>` exits 1 before loading the models, naming the writer', async () => {
    const shape = { blocks: 1, intermediate: 48, heads: 4, kvHeads: 2, vocab: 16, seed: 3, noise: 0.01 };
    const a = await writeLlamaShapedPair(join(dir, 'a'), { ...shape, hidden: 32, maxShardBytes: 1_000_000 });
    const b = await writeLlamaShapedPair(join(dir, 'b'), { ...shape, hidden: 48, maxShardBytes: 1_000_000 });
    const folder = join(dir, 'merged');
    const writer = startLockProcess(['write', folder, 'the other run']);
    expect(await writer.line()).toBe('staged');
    // Heads of other widths cannot be aligned: a merge that got as far as planning would fail on that instead.
    const run = await runMal(['merge', a.base, b.target, '--lambda', '0.5', '--out', folder]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`another mal process (pid ${writer.pid}) is writing to ${folder}`);
    writer.proceed();
    expect(await writer.exited).toBe(0);
  });

  it('`mal study`, embedded or --cluster, exits 1 naming the writer, before measuring or submitting anything', async () => {
    const study = join(dir, 'study.yaml');
    await writeFile(
      study,
      [
        'datasets:',
        '  - {name: f, train: "fashion-mnist:train", eval: "fashion-mnist:val"}',
        `zoo: {folder: ${JSON.stringify(resolve('zoo/demo'))}}`,
        'positions: [first]',
        '',
      ].join('\n'),
    );
    const folder = join(dir, 'study-out');
    const writer = startLockProcess(['write', folder, 'the other run']);
    expect(await writer.line()).toBe('staged');
    const before = (await readdir(folder)).sort();
    // --cluster is refused before it would reach a Temporal server (none runs here).
    for (const cluster of [[], ['--cluster']]) {
      const run = await runMal(['study', study, '--out', folder, ...cluster]);
      expect(run.code, run.stderr).toBe(1);
      expect(run.stderr).toContain(`another mal process (pid ${writer.pid}) is writing to ${folder}`);
    }
    expect((await readdir(folder)).sort()).toEqual(before);
    writer.proceed();
    expect(await writer.exited).toBe(0);
  });

  it('`mal data split` exits 1 naming the folder and the writer, before reading any data, and writes nothing', async () => {
    const folder = join(dir, 'split');
    const writer = startLockProcess(['write', folder, 'the other run']);
    expect(await writer.line()).toBe('staged');
    const before = (await readdir(folder)).sort();
    // The source does not exist: the lock is refused before the data would be read.
    const run = await runMal(['data', 'split', join(dir, 'absent.arrow'), '--out', folder, '--seed', '1']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `another mal process (pid ${writer.pid}) is writing to ${folder}; wait for it or choose another output folder`,
    );
    expect((await readdir(folder)).sort()).toEqual(before);
    writer.proceed();
    expect(await writer.exited).toBe(0);
    expect((await readdir(folder)).filter((n) => !n.startsWith('.')).sort()).toEqual([
      'current',
      'model.bin',
    ]);
  });
});
