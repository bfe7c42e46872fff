import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { InvalidFileError } from '../errors.js';
import { fileSystemError } from './file-system-error.js';

/**
 * One read call is capped well below the 2 GiB a single read(2) may return on Linux, so a tensor of any size is
 * read as a loop of positional reads and no call ever asks for more than a 32-bit length.
 */
const MAX_READ_CHUNK = 1 << 30;

/**
 * Fills `target` with the bytes of `handle` starting at `position` (positional reads, so several may run at once
 * on one handle, and offsets beyond 2 GiB are fine). A file that ends early is an InvalidFileError.
 */
export async function readFileRange(
  handle: FileHandle,
  target: Uint8Array,
  position: number,
  file: string,
  tensor?: string,
): Promise<void> {
  let done = 0;
  while (done < target.length) {
    const length = Math.min(target.length - done, MAX_READ_CHUNK);
    const { bytesRead } = await handle.read(target, done, length, position + done);
    if (bytesRead === 0) {
      throw new InvalidFileError(
        file,
        `file ended after ${done} of ${target.length} bytes at offset ${position} (truncated?)`,
        tensor,
      );
    }
    done += bytesRead;
  }
}

/** Opens a file for reading, turning "not found" and "is a folder" into InvalidFileError naming the file. */
export async function openForReading(file: string): Promise<FileHandle> {
  try {
    return await open(file, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new InvalidFileError(file, 'no such file');
    if (code === 'EISDIR') throw new InvalidFileError(file, 'is a folder, not a file');
    throw fileSystemError(file, error, 'read');
  }
}
