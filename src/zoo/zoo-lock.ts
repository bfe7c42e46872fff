import { randomBytes } from 'node:crypto';
import { link, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { faultPoint } from '../io/fault-injection.js';
import { ZooError } from './zoo-errors.js';
import { zooFileError } from './zoo-file-error.js';

const LOCK_FILE = 'zoo.json.lock';
const RETRY_MS = 50;
const EMPTY_LOCK_GRACE_MS = 2_000;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether a lock file's content (and age) says its holder is gone. */
function isStale(text: string, modifiedMs: number): boolean {
  const pid = Number(text.trim());
  return text.trim() === ''
    ? Date.now() - modifiedMs > EMPTY_LOCK_GRACE_MS
    : !Number.isSafeInteger(pid) || pid <= 0 || !isAlive(pid);
}

/**
 * Removes a lock whose holder (on this host) has died, so a crashed `mal zoo add` or `mal zoo train` does not
 * block the zoo. A lock file that is still empty was just created by a holder about to write its pid (or by one
 * killed in between): it counts as stale only once it has been empty for a while.
 *
 * Two commands may find the same stale lock at once. Each moves it aside under its own name (a rename: only one
 * gets that file) and checks what it moved: had another command already broken the stale lock and taken a fresh
 * one, the fresh lock is what moved, and it is put back (a hard link, which fails rather than replace a lock
 * taken meanwhile).
 */
async function removeIfStale(lockPath: string): Promise<void> {
  try {
    if (!isStale(await readFile(lockPath, 'utf8'), (await stat(lockPath)).mtimeMs)) return;
  } catch {
    return;
  }
  const aside = join(
    dirname(lockPath),
    `.${basename(lockPath)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`,
  );
  try {
    await rename(lockPath, aside);
  } catch {
    return;
  }
  try {
    if (!isStale(await readFile(aside, 'utf8'), (await stat(aside)).mtimeMs)) {
      await link(aside, lockPath).catch(() => undefined);
    }
  } finally {
    await rm(aside, { force: true });
  }
}

/** Removes the zoo's lock when its holder died (a command killed while holding it); a live holder's stays. */
export async function removeStaleZooLock(zooDir: string): Promise<void> {
  await removeIfStale(join(zooDir, LOCK_FILE));
}

/** Process ids of this host that are dead: their temporaries and locks can be cleaned. */
export function isDeadPid(pid: number): boolean {
  return Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && !isAlive(pid);
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
        faultPoint('zoo lock 1');
        await handle.writeFile(`${process.pid}\n`);
      } finally {
        await handle.close();
      }
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST')
        throw zooFileError(lockPath, error, "take the zoo's lock");
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
    faultPoint('zoo lock 2');
    await rm(lockPath, { force: true });
  }
}
