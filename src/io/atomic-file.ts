import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { lstat, mkdir, open, readdir, realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { InvalidFileError } from '../errors.js';
import { faultPoint } from './fault-injection.js';
import { errnoCode, fileSystemError } from './file-system-error.js';

/** `.<name>.<pid>.<12 hex>.tmp`: the temporaries this layer makes, recognisable so that only they are cleaned. */
const TEMPORARY_NAME = /^\..+\.(\d+)\.[0-9a-f]{12}\.tmp$/;

/** Temporary name beside `path` (same folder, hence same file system, so the final rename is atomic). */
export function temporaryPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/** Whether a process of this id is running (then its temporaries may still be in use). */
export function processIsAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return errnoCode(error) === 'EPERM';
  }
}

/**
 * Removes the temporaries an earlier, killed process of this program left in `folder` (names made by
 * temporaryPathFor whose process is gone); any other file is left alone. Returns the names removed.
 */
export async function removeOrphanedTemporaries(folder: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(folder);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return [];
    throw fileSystemError(folder, error, 'list the folder');
  }
  const removed: string[] = [];
  for (const name of names) {
    const match = TEMPORARY_NAME.exec(name);
    if (match === null || processIsAlive(Number(match[1]))) continue;
    await rm(join(folder, name), { force: true, recursive: true });
    removed.push(name);
  }
  return removed;
}

/** Makes the rename itself durable; some file systems cannot fsync a folder, which only weakens durability. */
export async function syncFolder(folder: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(folder, 'r');
    await handle.sync();
  } catch {
    // Best effort, see above.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/** What a file-system object is, in words: "a character device", "a named pipe (FIFO)", … */
export function describeKind(stats: Stats): string {
  if (stats.isFile()) return 'a regular file';
  if (stats.isDirectory()) return 'a folder';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isFIFO()) return 'a named pipe (FIFO)';
  if (stats.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * Where a write to `path` lands, checked before anything is written: the path itself, or the file a symbolic link
 * names (a link is written through, never replaced by a file). An output may only replace a regular file: a
 * folder, a device such as /dev/null, a pipe or a socket is refused, since renaming a file over it would destroy
 * it. A path below an existing file, a symlink loop or a missing permission is reported naming the path.
 */
export async function resolveOutputFile(path: string): Promise<string> {
  let link: Stats;
  try {
    link = await lstat(path);
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      await checkFolderCanHold(path);
      return path;
    }
    throw fileSystemError(path, error, 'write an output here');
  }
  let target = path;
  let stats = link;
  if (link.isSymbolicLink()) {
    try {
      target = await realpath(path);
      stats = await stat(target);
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') {
        throw new InvalidFileError(path, 'is a symbolic link to nothing; remove it or give another path');
      }
      throw fileSystemError(path, error, 'write an output here');
    }
  }
  if (stats.isDirectory()) throw new InvalidFileError(path, 'is a folder; give the path of a file to write');
  if (!stats.isFile()) {
    throw new InvalidFileError(
      path,
      `is ${describeKind(stats)}; an output may only replace a regular file, give another path`,
    );
  }
  return target;
}

/** The nearest existing folder above a path that does not exist yet must be a folder (not a file, not a loop). */
async function checkFolderCanHold(path: string): Promise<void> {
  let folder = dirname(path);
  for (;;) {
    try {
      const stats = await stat(folder);
      if (!stats.isDirectory()) {
        throw new InvalidFileError(path, `cannot be written: ${folder} is a file, not a folder`);
      }
      return;
    } catch (error) {
      if (error instanceof InvalidFileError) throw error;
      // ENOTDIR: a folder further up is a file; walking up finds it and names it.
      const code = errnoCode(error);
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw fileSystemError(path, error, 'write an output here');
    }
    const parent = dirname(folder);
    if (parent === folder) return;
    folder = parent;
  }
}

/** Errors of the file system while writing become one line naming the file; anything else is passed on. */
function writeError(path: string, error: unknown): unknown {
  return errnoCode(error) === undefined ? error : fileSystemError(path, error, 'write');
}

/**
 * A file being written under a temporary name beside its final name. `seal` makes its contents durable,
 * `commit` moves it onto the final name, `discard` removes it. Several staged files can be sealed first and
 * committed together, which keeps a multi-file write (a sharded model) from leaving a half-written set.
 */
export class StagedFile {
  private open = true;
  private committed = false;

  private constructor(
    readonly finalPath: string,
    readonly temporaryPath: string,
    readonly handle: FileHandle,
  ) {}

  /**
   * Creates the folder if needed. A final path that may not be replaced (see resolveOutputFile) is refused before
   * anything is written; a symbolic link to a regular file is written through.
   */
  static async create(finalPath: string): Promise<StagedFile> {
    const target = await resolveOutputFile(finalPath);
    try {
      await mkdir(dirname(target), { recursive: true });
    } catch (error) {
      throw fileSystemError(finalPath, error, 'create its folder');
    }
    const temporaryPath = temporaryPathFor(target);
    try {
      return new StagedFile(target, temporaryPath, await open(temporaryPath, 'wx'));
    } catch (error) {
      throw fileSystemError(finalPath, error, 'write here');
    }
  }

  async seal(): Promise<void> {
    if (!this.open) return;
    faultPoint(`write ${basename(this.finalPath)}`);
    try {
      await this.handle.sync();
    } catch (error) {
      throw writeError(this.finalPath, error);
    }
    this.open = false;
    await this.handle.close();
  }

  async commit(): Promise<void> {
    await this.seal();
    faultPoint(`rename ${basename(this.finalPath)}`);
    try {
      await rename(this.temporaryPath, this.finalPath);
    } catch (error) {
      throw writeError(this.finalPath, error);
    }
    this.committed = true;
    await syncFolder(dirname(this.finalPath));
  }

  /** Removes the temporary file, if it was not committed; never throws, so it is safe in error paths. */
  async discard(): Promise<void> {
    if (this.open) {
      this.open = false;
      await this.handle.close().catch(() => undefined);
    }
    if (!this.committed) await rm(this.temporaryPath, { force: true }).catch(() => undefined);
  }
}

/**
 * Writes a file so that readers see either the old file or the complete new one, never a partial one: `write`
 * fills a temporary file in the same folder, which is then fsynced and renamed onto `path`. If anything fails
 * the temporary file is removed, and whatever was at `path` before is left as it was; a full disk or another
 * file-system error is reported naming `path`.
 */
export async function withAtomicFile<T>(path: string, write: (handle: FileHandle) => Promise<T>): Promise<T> {
  const staged = await StagedFile.create(path);
  try {
    let result: T;
    try {
      result = await write(staged.handle);
    } catch (error) {
      throw writeError(path, error);
    }
    await staged.commit();
    return result;
  } catch (error) {
    await staged.discard();
    throw error;
  }
}

/** Writes the whole of `data` at `position`, looping over partial writes. */
export async function writeFully(handle: FileHandle, data: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const length = Math.min(data.length - done, 1 << 30);
    const { bytesWritten } = await handle.write(data, done, length, position + done);
    done += bytesWritten;
  }
}

/** Atomic replacement of a whole file (model outputs, JSON reports). Strings are written as UTF-8. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  await withAtomicFile(path, (handle) => writeFully(handle, bytes, 0));
}
