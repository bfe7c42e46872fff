import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { InvalidFileError } from '../errors.js';
import { readRegularFile } from '../io/read-regular-file.js';

const gunzipAsync = promisify(gunzip);

/** Whether the bytes start with the gzip magic number; the content decides, not the file name. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Reads a file whole, decompressing it if it is gzip data. A corrupt or truncated gzip stream names the file. */
export async function readMaybeGzipped(path: string): Promise<Uint8Array> {
  const bytes = await readRegularFile(path);
  if (!isGzip(bytes)) return bytes;
  try {
    return await gunzipAsync(bytes);
  } catch (error) {
    throw new InvalidFileError(path, `corrupt gzip data (${(error as Error).message})`);
  }
}
