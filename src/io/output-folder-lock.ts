import { readFile, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MalError } from '../errors.js';
import { processIsAlive } from './atomic-file.js';
import { errnoCode, fileSystemError } from './file-system-error.js';
import { tryFolderLock } from './folder-lock.js';

/**
 * The lock file of an output folder. Not an output: publishedNames lists only this program's links, and
 * cleanOutputFolder removes only set folders and temporaries (src/io/output-set.ts).
 */
export const OUTPUT_LOCK_FILE = '.mal-output.lock';

/** Another process is writing to the output folder a command was given. */
export class OutputFolderBusyError extends MalError {
  override readonly name = 'OutputFolderBusyError';
  constructor(
    readonly folder: string,
    /** The writer's pid; undefined when its lock could not be read. */
    readonly pid: number | undefined,
  ) {
    super(
      `another mal process (${pid === undefined ? `its pid unreadable in ${join(folder, OUTPUT_LOCK_FILE)}` : `pid ${pid}`}) ` +
        `is writing to ${folder}; wait for it or choose another output folder`,
    );
  }
}

/**
 * Runs `write` (cleaning the output folder, staging and publishing its set: src/io/output-set.ts) holding the
 * folder's lock, so that two commands writing to one folder cannot remove each other's staged set or interleave
 * their links. A second writer does not wait: the first may run for hours, so it fails at once with
 * OutputFolderBusyError, before it has written anything. A lock left by a killed run is broken (its pid is gone).
 * The folder is created for the lock when missing, and removed again afterwards if nothing was left in it.
 */
export async function withOutputFolderLock<T>(folder: string, write: () => Promise<T>): Promise<T> {
  const existed = await folderExists(folder);
  const attempt = await tryFolderLock(join(folder, OUTPUT_LOCK_FILE), {
    label: 'output lock',
    doing: 'lock the output folder',
    createFolder: true,
  });
  if (!attempt.taken) throw new OutputFolderBusyError(folder, attempt.holder);
  try {
    return await write();
  } finally {
    await attempt.lock.release();
    // Only an empty folder goes: rmdir refuses anything else, which is then not ours to remove.
    if (!existed) await rmdir(folder).catch(() => undefined);
  }
}

/**
 * Fails with OutputFolderBusyError when another living process holds the folder's lock now. For a command that
 * works for a long time before it writes (`mal merge` aligns first): it learns at once, not hours later, that the
 * folder is taken. Only a check: the write itself still takes the lock (withOutputFolderLock).
 */
export async function checkOutputFolderFree(folder: string): Promise<void> {
  let text: string;
  try {
    text = await readFile(join(folder, OUTPUT_LOCK_FILE), 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return;
    throw fileSystemError(join(folder, OUTPUT_LOCK_FILE), error, "read the output folder's lock");
  }
  const pid = Number(text.trim());
  if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && processIsAlive(pid))
    throw new OutputFolderBusyError(folder, pid);
}

async function folderExists(folder: string): Promise<boolean> {
  try {
    await stat(folder);
    return true;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return false;
    throw fileSystemError(folder, error, 'use the output folder');
  }
}
