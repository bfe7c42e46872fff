import { randomBytes } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { InvalidFileError } from '../errors.js';

/** Temporary name beside `path` (same folder, hence same file system, so the final rename is atomic). */
export function temporaryPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/** Makes the rename itself durable; some file systems cannot fsync a folder, which only weakens durability. */
async function syncFolder(folder: string): Promise<void> {
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

  /** Creates the folder if needed; a final path that is an existing folder is refused before anything is written. */
  static async create(finalPath: string): Promise<StagedFile> {
    const existing = await stat(finalPath).catch(() => undefined);
    if (existing?.isDirectory()) {
      throw new InvalidFileError(finalPath, 'is a folder; give the path of a file to write');
    }
    try {
      await mkdir(dirname(finalPath), { recursive: true });
    } catch (error) {
      throw new InvalidFileError(finalPath, `cannot create its folder: ${(error as Error).message}`);
    }
    const temporaryPath = temporaryPathFor(finalPath);
    try {
      return new StagedFile(finalPath, temporaryPath, await open(temporaryPath, 'wx'));
    } catch (error) {
      throw new InvalidFileError(finalPath, `cannot write here: ${(error as Error).message}`);
    }
  }

  async seal(): Promise<void> {
    if (!this.open) return;
    await this.handle.sync();
    this.open = false;
    await this.handle.close();
  }

  async commit(): Promise<void> {
    await this.seal();
    await rename(this.temporaryPath, this.finalPath);
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
 * the temporary file is removed, and whatever was at `path` before is left as it was.
 */
export async function withAtomicFile<T>(path: string, write: (handle: FileHandle) => Promise<T>): Promise<T> {
  const staged = await StagedFile.create(path);
  try {
    const result = await write(staged.handle);
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
