import { mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidFileError, MalError } from '../../src/errors.js';
import { errnoCode, fileSystemError } from '../../src/io/file-system-error.js';
import { type ScratchFolder, scratchFolder } from './safetensors-file-fixtures.js';

let scratch: ScratchFolder;
beforeEach(async () => {
  scratch = await scratchFolder();
});
afterEach(async () => {
  await scratch.remove();
});

/** The error a real file-system call throws, so the mapping is tested against what Node really raises. */
async function failureOf(call: () => Promise<unknown>): Promise<unknown> {
  try {
    await call();
  } catch (error) {
    return error;
  }
  throw new Error('the call was expected to fail');
}

describe('fileSystemError', () => {
  it('names the path, the action and the remedy of a symlink loop (ELOOP)', async () => {
    await symlink(scratch.file('b'), scratch.file('a'));
    await symlink(scratch.file('a'), scratch.file('b'));
    const error = fileSystemError(scratch.file('a'), await failureOf(() => stat(scratch.file('a'))), 'read');
    expect(error).toBeInstanceOf(InvalidFileError);
    expect(error.exitCode).toBe(1);
    expect(error.message).toBe(
      `${scratch.file('a')}: cannot read: too many levels of symbolic links (a symlink loop?); fix or remove the link (ELOOP)`,
    );
  });

  it('explains a folder where a file is expected (EISDIR) and a file where a folder is expected (ENOTDIR)', async () => {
    await mkdir(scratch.file('dir'));
    await writeFile(scratch.file('plain'), 'x');
    const isDir = fileSystemError('d', await failureOf(() => readFile(scratch.file('dir'))), 'read');
    expect(isDir.message).toMatch(/^d: cannot read: is a folder where a file is expected.*\(EISDIR\)$/);
    const notDir = fileSystemError('p', await failureOf(() => readFile(scratch.file('plain/x'))), 'read');
    expect(notDir.message).toMatch(/^p: cannot read: a part of this path is a file .*\(ENOTDIR\)$/);
  });

  it('keeps an unknown errno code and the system message without its code prefix', () => {
    const error = Object.assign(new Error("EWEIRD: something odd, open 'x'"), { code: 'EWEIRD' });
    expect(fileSystemError('x', error, 'open').message).toBe(
      "x: cannot open: something odd, open 'x' (EWEIRD)",
    );
    expect(errnoCode(error)).toBe('EWEIRD');
    expect(errnoCode(new Error('plain'))).toBeUndefined();
  });

  it('passes a MalError through unchanged and keeps any other error as the cause', () => {
    const mal = new MalError('already explained');
    expect(fileSystemError('x', mal, 'read')).toBe(mal);
    const other = new Error('odd');
    const wrapped = fileSystemError('x', other, 'read');
    expect(wrapped.message).toBe('x: cannot read: odd');
    expect(wrapped.cause).toBe(other);
  });
});
