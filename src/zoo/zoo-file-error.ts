import { MalError } from '../errors.js';
import { errnoCode, fileSystemError } from '../io/file-system-error.js';

/**
 * The error a file-system failure on a zoo path becomes: the project's own errors pass through, a Node errno error
 * becomes the InvalidFileError of `fileSystemError` (naming the path, what was being done and the remedy), and
 * anything else is a bug and is rethrown as it is.
 */
export function zooFileError(path: string, error: unknown, doing = 'use it'): Error {
  if (error instanceof MalError) return error;
  if (errnoCode(error) === undefined) return error as Error;
  return fileSystemError(path, error, doing);
}

/** Runs one file-system operation on `path`, turning its failure into an error that names the path. */
export async function onZooPath<T>(path: string, doing: string, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw zooFileError(path, error, doing);
  }
}
