import { InvalidFileError, MalError } from '../errors.js';

/*
 * The OUTPUTS work adds src/io/file-system-error.ts for the same purpose; this small equivalent keeps the zoo's
 * errors clean until the two are unified.
 */

/** What a Node errno code means, in words that tell the user what to fix. */
const MEANINGS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or folder',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ELOOP: 'too many levels of symbolic links (a link loop?)',
  EISDIR: 'is a folder where a file is expected',
  ENOTDIR: 'a part of the path is a file where a folder is expected',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'the file system is read-only',
  EEXIST: 'already exists',
  ENOTEMPTY: 'the folder is not empty',
  ENAMETOOLONG: 'the name is too long',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
  EIO: 'input/output error',
  EXDEV: 'the paths are on different file systems',
  EBUSY: 'the file or folder is busy',
};

/**
 * The error a file-system failure on `path` becomes: the project's own errors pass through, a Node errno error
 * becomes an InvalidFileError naming the path and what went wrong (exit 1, no stack), anything else is a bug and
 * is rethrown as it is.
 */
export function zooFileError(path: string, error: unknown, doing?: string): Error {
  if (error instanceof MalError) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code !== 'string' || !/^E[A-Z]+$/.test(code)) return error as Error;
  const meaning = MEANINGS[code] ?? (error as Error).message;
  return new InvalidFileError(path, `${doing === undefined ? '' : `cannot ${doing}: `}${meaning} (${code})`);
}

/** Runs one file-system operation on `path`, turning its failure into an error that names the path. */
export async function onZooPath<T>(path: string, doing: string, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw zooFileError(path, error, doing);
  }
}
