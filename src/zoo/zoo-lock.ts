import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ZooError } from './zoo-errors.js';

const LOCK_FILE = 'zoo.json.lock';
const RETRY_MS = 50;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes a lock whose holder (on this host) has died, so a crashed `mal zoo train` does not block the zoo. */
async function removeIfStale(lockPath: string): Promise<void> {
  let pid: number;
  try {
    pid = Number((await readFile(lockPath, 'utf8')).trim());
  } catch {
    return;
  }
  if (Number.isSafeInteger(pid) && pid > 0 && !isAlive(pid)) await rm(lockPath, { force: true });
}

/**
 * Runs `update` while holding the zoo's lock file, so two commands adding models at once (two `mal zoo train`
 * runs finishing together) cannot both read the old manifest and lose one of the additions. The manifest write
 * itself is atomic (rename), so readers never need the lock.
 */
export async function withZooLock<T>(
  zooDir: string,
  update: () => Promise<T>,
  timeoutMs = 30_000,
): Promise<T> {
  const lockPath = join(zooDir, LOCK_FILE);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const handle = await open(lockPath, 'wx');
      try {
        await handle.writeFile(`${process.pid}\n`);
      } finally {
        await handle.close();
      }
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      await removeIfStale(lockPath);
      if (Date.now() > deadline) {
        throw new ZooError(
          `${lockPath}: another command has held the zoo's lock for ${timeoutMs / 1000} s; ` +
            'if none is running, remove the file',
        );
      }
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  }
  try {
    return await update();
  } finally {
    await rm(lockPath, { force: true });
  }
}
