import { join } from 'node:path';
import { processIsAlive } from '../io/atomic-file.js';
import { type FolderLockOptions, removeStaleFolderLock, waitForFolderLock } from '../io/folder-lock.js';
import { ZooError } from './zoo-errors.js';

const LOCK_FILE = 'zoo.json.lock';
const ZOO_LOCK: FolderLockOptions = { label: 'zoo lock', doing: "take the zoo's lock" };

/** Removes the zoo's lock when its holder died (a command killed while holding it); a live holder's stays. */
export async function removeStaleZooLock(zooDir: string): Promise<void> {
  await removeStaleFolderLock(join(zooDir, LOCK_FILE));
}

/** Process ids of this host that are dead: their temporaries and locks can be cleaned. */
export function isDeadPid(pid: number): boolean {
  return Number.isSafeInteger(pid) && pid > 0 && !processIsAlive(pid);
}

/**
 * Runs `update` while holding the zoo's lock file (src/io/folder-lock.ts), so two commands adding models at once
 * (two `mal zoo train` runs finishing together) cannot both read the old manifest and lose one of the additions.
 * A command finding the lock held waits for it. The manifest write itself is atomic (rename), so readers never
 * need the lock.
 */
export async function withZooLock<T>(
  zooDir: string,
  update: () => Promise<T>,
  timeoutMs = 30_000,
): Promise<T> {
  const lockPath = join(zooDir, LOCK_FILE);
  const lock = await waitForFolderLock(lockPath, ZOO_LOCK, timeoutMs);
  if (lock === undefined) {
    throw new ZooError(
      `${lockPath}: another command has held the zoo's lock for ${timeoutMs / 1000} s; ` +
        'if none is running, remove the file',
    );
  }
  try {
    return await update();
  } finally {
    await lock.release();
  }
}
