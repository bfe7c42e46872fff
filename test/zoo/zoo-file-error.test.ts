/**
 * File-system failures on zoo paths become InvalidFileErrors naming the path and what went wrong; the errors
 * here are real ones from the operating system (/dev/full answers every write with ENOSPC).
 */
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidFileError, MalError } from '../../src/errors.js';
import { onZooPath, zooFileError } from '../../src/zoo/zoo-file-error.js';

describe('zooFileError', () => {
  it('a full disk names the file and says so', async () => {
    const error = await writeFile('/dev/full', 'x').catch((e: unknown) => e);
    const clean = zooFileError('/dev/full', error, 'copy the model');
    expect(clean).toBeInstanceOf(InvalidFileError);
    expect(clean.message).toMatch(
      /^\/dev\/full: cannot copy the model: no space left on the device.* \(ENOSPC\)$/,
    );
  });

  it('a link loop and a folder where a file is expected', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mal-zoo-fs-'));
    try {
      await symlink(join(dir, 'loop'), join(dir, 'loop'));
      await expect(
        onZooPath(join(dir, 'loop'), 'read it', () => readFile(join(dir, 'loop'))),
      ).rejects.toThrow(
        `${join(dir, 'loop')}: cannot read it: too many levels of symbolic links (a symlink loop?); fix or remove the link (ELOOP)`,
      );
      await expect(onZooPath(dir, 'read it', () => readFile(dir))).rejects.toThrow(
        /is a folder where a file is expected.* \(EISDIR\)/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('passes the project errors through and leaves bugs as they are', () => {
    const own = new MalError('already clean');
    expect(zooFileError('/x', own)).toBe(own);
    const bug = new TypeError('not a file-system error');
    expect(zooFileError('/x', bug)).toBe(bug);
  });
});
