/**
 * What an adversarial user found in the zoo commands, on real files through the real program: statuses taken
 * from the manifest alone, symbolic links followed out of a model's folder, and file-system errors on zoo paths
 * that escaped as internal errors (exit 70 with a stack).
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runMal } from '../support/run-mal.js';
import { scratch, writeMlpFile, writeShardedMlp } from './zoo-fixtures.js';

let dir: { path: string; remove: () => Promise<void> };
let zoo: string;
beforeEach(async () => {
  dir = await scratch();
  zoo = join(dir.path, 'zoo');
});
afterEach(async () => {
  await dir.remove();
});

function expectCleanError(run: { code: number; stderr: string }, pattern: RegExp): void {
  expect(run.stderr).toMatch(pattern);
  expect(run.stderr).not.toMatch(/\n\s+at /);
  expect(run.code).toBe(1);
}

describe('mal zoo ls checks the files, not only the manifest', () => {
  it('says what is wrong with a missing file and a damaged header', async () => {
    for (const [id, seed] of [
      ['kept', 1],
      ['gone', 2],
      ['damaged', 3],
    ] as const) {
      const source = await writeMlpFile(join(dir.path, `${id}.safetensors`), [6, 4, 3], seed);
      expect((await runMal(['zoo', 'add', '--zoo', zoo, source])).code).toBe(0);
    }
    await rm(join(zoo, 'models', 'gone.safetensors'));
    await writeFile(join(zoo, 'models', 'damaged.safetensors'), 'not a model any more');
    const run = await runMal(['zoo', 'ls', '--zoo', zoo]);
    expect(run.code).toBe(0);
    const row = (id: string) => run.stdout.split('\n').find((line) => line.startsWith(`${id} `)) ?? '';
    expect(row('kept')).toMatch(/ readable$/);
    expect(row('gone')).toMatch(/unusable: .*gone\.safetensors.*no such file/);
    expect(row('damaged')).toMatch(/unreadable now: /);
    expect(row('damaged')).not.toMatch(/ readable$/);
    const show = await runMal(['zoo', 'show', '--zoo', zoo, 'gone']);
    expect(show.stdout).toMatch(/files: +unusable: .*no such file/);
  });
});

describe('a zoo model whose file became a link out of the zoo', () => {
  it('is refused by verify and shown as unusable by ls', async () => {
    const source = await writeMlpFile(join(dir.path, 'a.safetensors'), [6, 4, 3], 1);
    expect((await runMal(['zoo', 'add', '--zoo', zoo, source])).code).toBe(0);
    await rm(join(zoo, 'models', 'a.safetensors'));
    // The same bytes, so only the link itself is wrong.
    await symlink(source, join(zoo, 'models', 'a.safetensors'));
    const verify = await runMal(['zoo', 'verify', '--zoo', zoo]);
    expect(verify.stderr).toMatch(/^a {2}refused: .*leads out of the zoo folder/m);
    expect(verify.code).toBe(1);
    const ls = await runMal(['zoo', 'ls', '--zoo', zoo]);
    expect(ls.stdout).toMatch(/unusable: .*leads out of the zoo folder/);
  });
});

describe('mal zoo add does not follow links out of a model folder', () => {
  it('refuses a shard that is a symbolic link to a file outside the folder, and copies nothing', async () => {
    const folder = await writeShardedMlp(join(dir.path, 'sharded'), [6, 4, 3], 1);
    const secret = join(dir.path, 'secret.bin');
    await writeFile(secret, 'not yours');
    const shard = (await readdir(folder)).find((f) => f.endsWith('.safetensors'))!;
    await rm(join(folder, shard));
    await symlink(secret, join(folder, shard));
    const run = await runMal(['zoo', 'add', '--zoo', zoo, folder]);
    expectCleanError(run, /is a symbolic link that leads out of the model's folder/);
    expect(await readdir(join(zoo, 'models')).catch(() => [])).toEqual([]);
    expect(JSON.parse(await readFile(join(zoo, 'zoo.json'), 'utf8')).models).toEqual([]);
  });

  it('accepts a link that stays inside the folder', async () => {
    const folder = await writeShardedMlp(join(dir.path, 'sharded'), [6, 4, 3], 1);
    const shard = (await readdir(folder)).find((f) => f.endsWith('.safetensors'))!;
    await mkdir(join(folder, 'blobs'));
    await writeFile(join(folder, 'blobs', shard), await readFile(join(folder, shard)));
    await rm(join(folder, shard));
    await symlink(join('blobs', shard), join(folder, shard));
    const run = await runMal(['zoo', 'add', '--zoo', zoo, folder, '--id', 'linked-inside']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect((await runMal(['zoo', 'verify', '--zoo', zoo])).code).toBe(0);
  });
});

describe('file-system errors on zoo paths are clean errors', () => {
  it('a folder where zoo.json is expected', async () => {
    await mkdir(join(zoo, 'zoo.json'), { recursive: true });
    expectCleanError(
      await runMal(['zoo', 'ls', '--zoo', zoo]),
      /zoo\.json: .*is a folder where a file is expected/,
    );
    const source = await writeMlpFile(join(dir.path, 'a.safetensors'), [6, 4, 3], 1);
    expectCleanError(await runMal(['zoo', 'add', '--zoo', zoo, source]), /zoo\.json: .*is a folder/);
  });

  it('a symbolic link loop at zoo.json', async () => {
    await mkdir(zoo);
    await symlink(join(zoo, 'zoo.json'), join(zoo, 'zoo.json'));
    expectCleanError(await runMal(['zoo', 'ls', '--zoo', zoo]), /zoo\.json: .*symbolic links/);
    const source = await writeMlpFile(join(dir.path, 'a.safetensors'), [6, 4, 3], 1);
    expectCleanError(await runMal(['zoo', 'add', '--zoo', zoo, source]), /zoo\.json: .*symbolic links/);
  });

  it('a model path that is a link loop', async () => {
    const loop = join(dir.path, 'loop.safetensors');
    await symlink(loop, loop);
    expectCleanError(
      await runMal(['zoo', 'add', '--zoo', zoo, loop]),
      /loop\.safetensors: cannot read the model: too many levels of symbolic links/,
    );
    expect(existsSync(zoo)).toBe(false);
  });

  it('a zoo folder below an existing file', async () => {
    const file = join(dir.path, 'plain-file');
    await writeFile(file, '');
    const source = await writeMlpFile(join(dir.path, 'a.safetensors'), [6, 4, 3], 1);
    const run = await runMal(['zoo', 'add', '--zoo', join(file, 'zoo'), source]);
    expectCleanError(run, /plain-file\/zoo.*: .*a part of this path is a file/);
    expect(existsSync(join(file, 'zoo'))).toBe(false);
  });

  it('a models folder that is a file', async () => {
    const source = await writeMlpFile(join(dir.path, 'a.safetensors'), [6, 4, 3], 1);
    expect((await runMal(['zoo', 'add', '--zoo', zoo, '--link', source])).code).toBe(0);
    await writeFile(join(zoo, 'models'), '');
    const other = await writeMlpFile(join(dir.path, 'b.safetensors'), [6, 4, 3], 2);
    expectCleanError(await runMal(['zoo', 'add', '--zoo', zoo, other]), /models: /);
  });
});
