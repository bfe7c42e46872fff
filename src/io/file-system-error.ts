import { InvalidFileError, MalError } from '../errors.js';

/**
 * What each errno a user can cause means, and what to do about it. Node's own messages ("ELOOP: too many
 * symbolic links encountered, stat 'x'") name the system call, not the remedy, so each gets a sentence here.
 */
const REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or folder; check the path',
  ELOOP: 'too many levels of symbolic links (a symlink loop?); fix or remove the link',
  EACCES: 'permission denied; check the permissions of the file and of the folders above it',
  EPERM: 'operation not permitted; check the permissions and attributes (immutable, append-only) of the file',
  EISDIR: 'is a folder where a file is expected; give the path of a file',
  ENOTDIR: 'a part of this path is a file where a folder is expected; check the path',
  ENOSPC: 'no space left on the device; free some space or write somewhere else',
  EDQUOT: 'disk quota exceeded; free some space or write somewhere else',
  EROFS: 'the file system is read-only; write somewhere else',
  EEXIST: 'already exists; remove it or choose another path',
  ENAMETOOLONG: 'the path or one of its names is too long; use a shorter path',
  EMFILE: 'too many open files in this process; raise the limit (ulimit -n) and try again',
  ENFILE: 'too many open files on this system; close some programs or raise the limit, and try again',
  EBUSY: 'the file or device is busy; try again when it is free',
  EXDEV: 'cannot move a file across file systems; keep the output on one file system',
  EIO: 'input/output error from the device; check the disk',
  ENXIO: 'no such device or address (a socket or a FIFO without a reader?); give the path of a regular file',
  ETXTBSY: 'the file is busy (being executed); choose another path',
  EINVAL: 'the operating system refused this path or operation as invalid; check the path',
};

/** The errno code (`'ENOENT'`, `'ELOOP'`, …) of an error thrown by Node's file-system calls, or undefined. */
export function errnoCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) ? code : undefined;
}

/**
 * Turns an error of a file-system call on `path` into a MalError naming the path, what was being done (`doing`:
 * "read", "write", "create the folder of", …) and what to do about it, so that a symlink loop, a missing
 * permission, a folder where a file is expected or a full disk exits 1 with one line instead of a stack trace.
 * A MalError passes through unchanged (it already names its file). Any other error is wrapped too, keeping it
 * as the cause: the caller only wraps file-system calls, whose failures all come from the environment.
 */
export function fileSystemError(path: string, error: unknown, doing: string): MalError {
  if (error instanceof MalError) return error;
  const code = errnoCode(error);
  const reason =
    code === undefined
      ? error instanceof Error
        ? error.message
        : String(error)
      : `${REASONS[code] ?? (error as Error).message.replace(/^[A-Z0-9]+: /, '')} (${code})`;
  const wrapped = new InvalidFileError(path, `cannot ${doing}: ${reason}`);
  (wrapped as { cause?: unknown }).cause = error;
  return wrapped;
}
