import { execFileSync } from 'node:child_process';
import { lstat, mkdir, readdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  removeOrphanedTemporaries,
  temporaryPathFor,
  withAtomicFile,
  writeFileAtomic,
} from '../../src/io/atomic-file.js';
import { type ScratchFolder, scratchFolder } from './safetensors-file-fixtures.js';

let scratch: ScratchFolder;
beforeEach(async () => {
  scratch = await scratchFolder();
});
afterEach(async () => {
  await scratch.remove();
});

describe('writeFileAtomic', () => {
  it('writes strings as UTF-8 and bytes as they are', async () => {
    await writeFileAtomic(scratch.file('a.json'), '{"λ":0.5}');
    expect(await readFile(scratch.file('a.json'), 'utf8')).toBe('{"λ":0.5}');
    await writeFileAtomic(scratch.file('b.bin'), Uint8Array.of(0, 255, 1));
    expect(Array.from(await readFile(scratch.file('b.bin')))).toEqual([0, 255, 1]);
    expect((await readdir(scratch.path)).sort()).toEqual(['a.json', 'b.bin']);
  });

  it('replaces an existing file', async () => {
    const path = await scratch.write('r.json', 'old');
    await writeFileAtomic(path, 'new');
    expect(await readFile(path, 'utf8')).toBe('new');
  });

  it('creates missing folders on the way to the file', async () => {
    await writeFileAtomic(scratch.file('no/such/folder/x.json'), 'x');
    expect(await readdir(scratch.file('no/such/folder'))).toEqual(['x.json']);
  });

  it('fails with the path named when the folder cannot be created, leaving nothing behind', async () => {
    await writeFileAtomic(scratch.file('plain'), 'p');
    await expect(writeFileAtomic(scratch.file('plain/x.json'), 'x')).rejects.toThrow(
      /plain\/x\.json: cannot be written: .*plain is a file, not a folder/,
    );
    expect(await readdir(scratch.path)).toEqual(['plain']);
  });

  it('fails when the final name is a folder, removing the temporary file', async () => {
    await writeFileAtomic(scratch.file('keep.txt'), 'k');
    await mkdir(scratch.file('dir'));
    await expect(writeFileAtomic(scratch.file('dir'), 'x')).rejects.toThrow(/is a folder/);
    expect((await readdir(scratch.path)).sort()).toEqual(['dir', 'keep.txt']);
  });
});

describe('withAtomicFile', () => {
  it('removes the temporary file and keeps the old file when the writer throws after writing', async () => {
    const path = await scratch.write('w.txt', 'old');
    await expect(
      withAtomicFile(path, async (handle) => {
        await handle.write('partial');
        throw new Error('stop');
      }),
    ).rejects.toThrow('stop');
    expect(await readFile(path, 'utf8')).toBe('old');
    expect(await readdir(scratch.path)).toEqual(['w.txt']);
  });

  it('returns what the writer returns', async () => {
    expect(await withAtomicFile(scratch.file('v.txt'), async () => 42)).toBe(42);
    expect(await readFile(scratch.file('v.txt'), 'utf8')).toBe('');
  });
});

describe('what an output may replace', () => {
  it('refuses a character device such as /dev/null, leaving it a device', async () => {
    await expect(writeFileAtomic('/dev/null', 'x')).rejects.toThrow(
      '/dev/null: is a character device; an output may only replace a regular file, give another path',
    );
    expect((await lstat('/dev/null')).isCharacterDevice()).toBe(true);
  });

  it('refuses a named pipe and leaves no temporary beside it', async () => {
    execFileSync('mkfifo', [scratch.file('pipe')]);
    await expect(writeFileAtomic(scratch.file('pipe'), 'x')).rejects.toThrow(
      /pipe: is a named pipe \(FIFO\)/,
    );
    expect(await readdir(scratch.path)).toEqual(['pipe']);
  });

  it('writes through a symbolic link to a regular file, keeping the link', async () => {
    const target = await scratch.write('target.txt', 'old');
    await symlink(target, scratch.file('link.txt'));
    await writeFileAtomic(scratch.file('link.txt'), 'new');
    expect(await readlink(scratch.file('link.txt'))).toBe(target);
    expect(await readFile(target, 'utf8')).toBe('new');
  });

  it('reports a symlink loop and a dangling link naming the path', async () => {
    await symlink(scratch.file('b'), scratch.file('a'));
    await symlink(scratch.file('a'), scratch.file('b'));
    await expect(writeFileAtomic(scratch.file('a'), 'x')).rejects.toThrow(
      `${scratch.file('a')}: cannot write an output here: too many levels of symbolic links`,
    );
    await expect(writeFileAtomic(scratch.file('a/below'), 'x')).rejects.toThrow(/a\/below: .*\(ELOOP\)/);
    await symlink(scratch.file('nothing'), scratch.file('dangling'));
    await expect(writeFileAtomic(scratch.file('dangling'), 'x')).rejects.toThrow(
      /dangling: is a symbolic link to nothing/,
    );
  });

  it('reports a path below an existing file, however deep', async () => {
    await scratch.write('plain', 'p');
    await expect(writeFileAtomic(scratch.file('plain/a/b/c.json'), 'x')).rejects.toThrow(
      /c\.json: cannot be written: .*plain is a file, not a folder/,
    );
  });
});

describe('a full disk', () => {
  it('fails with the path named, keeps the old file and leaves no temporary (a 64 KiB tmpfs)', async () => {
    const mountPoint = scratch.file('small');
    await mkdir(mountPoint);
    // Root is needed to mount; the tests run as root (npm test installs packages), so this is not skipped.
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mountPoint]);
    try {
      const path = `${mountPoint}/model.bin`;
      await writeFileAtomic(path, 'old');
      await expect(writeFileAtomic(path, new Uint8Array(1 << 20))).rejects.toThrow(
        `${path}: cannot write: no space left on the device; free some space or write somewhere else (ENOSPC)`,
      );
      expect(await readFile(path, 'utf8')).toBe('old');
      expect(await readdir(mountPoint)).toEqual(['model.bin']);
    } finally {
      execFileSync('umount', [mountPoint]);
    }
  });
});

describe('removeOrphanedTemporaries', () => {
  it("removes only this layer's temporaries of processes that are gone", async () => {
    const dead = `.model.safetensors.999999999.0123456789ab.tmp`;
    await writeFile(scratch.file(dead), 'x');
    const mine = temporaryPathFor(scratch.file('live.json'));
    await writeFile(mine, 'x');
    await writeFile(scratch.file('.hidden.tmp'), 'not ours');
    await writeFile(scratch.file('model.safetensors'), 'a user file');
    expect(await removeOrphanedTemporaries(scratch.path)).toEqual([dead]);
    expect((await readdir(scratch.path)).sort()).toEqual(
      ['.hidden.tmp', mine.slice(scratch.path.length + 1), 'model.safetensors'].sort(),
    );
    expect(await removeOrphanedTemporaries(scratch.file('absent'))).toEqual([]);
  });
});
