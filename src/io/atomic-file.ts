import { randomBytes } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

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
 * Writes a file so that readers see either the old file or the complete new one, never a partial one: `write`
 * fills a temporary file in the same folder, which is then fsynced and renamed onto `path`. If anything fails
 * the temporary file is removed, and whatever was at `path` before is left as it was.
 */
export async function withAtomicFile<T>(path: string, write: (handle: FileHandle) => Promise<T>): Promise<T> {
  const temporary = temporaryPathFor(path);
  const handle = await open(temporary, 'wx');
  let handleOpen = true;
  try {
    const result = await write(handle);
    await handle.sync();
    handleOpen = false;
    await handle.close();
    await rename(temporary, path);
    await syncFolder(dirname(path));
    return result;
  } catch (error) {
    if (handleOpen) await handle.close().catch(() => undefined);
    await rm(temporary, { force: true });
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
