import { readFile, stat } from 'node:fs/promises';
import { InvalidFileError } from '../errors.js';

/**
 * Reads a whole file that a user or a plan named. A FIFO, device or socket would block forever or never end, so
 * only a regular file is read. A missing file rejects with Node's own ENOENT error, which callers word themselves.
 */
export async function readRegularFile(path: string): Promise<Buffer>;
export async function readRegularFile(path: string, encoding: 'utf8'): Promise<string>;
export async function readRegularFile(path: string, encoding?: 'utf8'): Promise<Buffer | string> {
  const info = await stat(path);
  if (!info.isFile())
    throw new InvalidFileError(
      path,
      info.isDirectory()
        ? 'is a folder where a file is expected; give the path of a file'
        : 'is not a regular file (a pipe, device or socket would block or never end); give the path of a file',
    );
  return encoding === undefined ? readFile(path) : readFile(path, encoding);
}
