import { type FileHandle, link, mkdir, open, readFile, realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { processIsAlive, temporaryPathFor } from './atomic-file.js';
import { faultPoint } from './fault-injection.js';
import { errnoCode, fileSystemError } from './file-system-error.js';

/**
 * A lock file that one process at a time holds, naming its pid: the zoo's manifest lock (src/zoo/zoo-lock.ts) and
 * the lock of an output folder (src/io/output-folder-lock.ts). It is made with an exclusive create, so two
 * processes cannot both take it; a holder that died (killed while holding it) is detected by its pid and its lock
 * broken, so a crash never blocks the folder for good. Pids are of this host: a folder shared over the network
 * between hosts is not covered.
 */

/** A lock still empty was just made by a holder about to write its pid, unless it stays empty this long. */
const EMPTY_LOCK_GRACE_MS = 2_000;
const POLL_MS = 50;

/**
 * Locks of this process, by absolute path: the ones it holds, and the ones it is taking right now. A lock naming
 * this process's own pid is then told apart: held (or being taken) here, or left by an earlier process that had
 * the same pid (in a container `mal` often gets the same one every run), which is gone and whose lock is stale.
 */
const held = new Set<string>();
const taking = new Set<string>();

export interface FolderLockOptions {
  /** Names the fault points (src/io/fault-injection.ts): `<label> 1` before the pid is written, `<label> 2` before release. */
  readonly label: string;
  /** What taking it is, for an error: "take the zoo's lock". */
  readonly doing: string;
  /** Creates the lock's folder when it is missing (an output folder a run makes), instead of failing. */
  readonly createFolder?: boolean;
}

/** A lock this process holds. */
export interface HeldFolderLock {
  readonly path: string;
  /**
   * Removes the lock file, if it still names this process. Never throws, for `finally` blocks: a lock it could not
   * remove names a pid that is gone by the next run, which breaks it.
   */
  release(): Promise<void>;
}

export type FolderLockAttempt =
  | { readonly taken: true; readonly lock: HeldFolderLock }
  /** `holder`: the living holder's pid; undefined when its lock could not be read or named none in time. */
  | { readonly taken: false; readonly holder: number | undefined };

type LockState =
  | { readonly kind: 'free' }
  | { readonly kind: 'stale' }
  | { readonly kind: 'held'; readonly pid: number }
  /** Empty and young: its holder is about to write its pid. */
  | { readonly kind: 'starting' }
  | { readonly kind: 'unreadable' };

/**
 * What the lock file at `file` says, `key` being the lock's absolute path. `asTaker`: asked by this process's own
 * attempt to take the lock, during which no other attempt of this process can be under way (see `taking`).
 */
async function lockState(file: string, key: string, asTaker: boolean): Promise<LockState> {
  let text: string;
  let modifiedMs: number;
  try {
    text = (await readFile(file, 'utf8')).trim();
    modifiedMs = (await stat(file)).mtimeMs;
  } catch (error) {
    return errnoCode(error) === 'ENOENT' ? { kind: 'free' } : { kind: 'unreadable' };
  }
  if (text === '')
    return Date.now() - modifiedMs > EMPTY_LOCK_GRACE_MS ? { kind: 'stale' } : { kind: 'starting' };
  const pid = Number(text);
  if (!Number.isSafeInteger(pid) || pid <= 0) return { kind: 'stale' };
  if (pid === process.pid) {
    const ours = held.has(key) || (!asTaker && taking.has(key));
    return ours ? { kind: 'held', pid } : { kind: 'stale' };
  }
  return processIsAlive(pid) ? { kind: 'held', pid } : { kind: 'stale' };
}

/**
 * Removes the lock at `path` when its holder is gone. Two processes may find the same stale lock at once. Each
 * moves it aside under its own name (a rename: only one gets that file) and checks what it moved: had another
 * already broken the stale lock and taken a fresh one, the fresh lock is what moved, and it is put back (a hard
 * link, which fails rather than replace a lock taken meanwhile).
 */
async function removeIfStale(path: string, key: string, asTaker: boolean): Promise<void> {
  if ((await lockState(path, key, asTaker)).kind !== 'stale') return;
  // `.<lock>.<pid>.<hex>.tmp`: a temporary of the atomic-file layer, cleaned like one if this process dies here.
  const aside = temporaryPathFor(path);
  try {
    await rename(path, aside);
  } catch {
    return;
  }
  try {
    if ((await lockState(aside, key, asTaker)).kind !== 'stale')
      await link(aside, path).catch(() => undefined);
  } finally {
    await rm(aside, { force: true }).catch(() => undefined);
  }
}

/** Removes the lock at `path` when its holder died; a living holder's lock stays. */
export async function removeStaleFolderLock(path: string): Promise<void> {
  await removeIfStale(path, await lockKey(path), false);
}

/**
 * Names a lock within this process by its folder's real path, so that two spellings of one folder (a symbolic
 * link to it, say) are one lock here too: otherwise the second would find this process's pid under another name,
 * take the lock for stale and break it. A folder not made yet has no real path: its resolved one stands in.
 */
async function lockKey(path: string): Promise<string> {
  try {
    return join(await realpath(dirname(path)), basename(path));
  } catch {
    return resolve(path);
  }
}

/** Creates the lock file holding this process's pid; false when it exists. */
async function createLock(path: string, options: FolderLockOptions, folderMade = false): Promise<boolean> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'wx');
  } catch (error) {
    if (errnoCode(error) === 'EEXIST') return false;
    if (errnoCode(error) !== 'ENOENT' || options.createFolder !== true || folderMade) {
      throw fileSystemError(path, error, options.doing);
    }
    try {
      await mkdir(dirname(path), { recursive: true });
    } catch (mkdirError) {
      throw fileSystemError(dirname(path), mkdirError, 'create the folder');
    }
    return createLock(path, options, true);
  }
  try {
    faultPoint(`${options.label} 1`);
    await handle.writeFile(`${process.pid}\n`);
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(path, { force: true }).catch(() => undefined);
    throw fileSystemError(path, error, options.doing);
  }
  await handle.close();
  return true;
}

function heldLock(path: string, key: string, label: string): HeldFolderLock {
  let released = false;
  return {
    path,
    async release() {
      if (released) return;
      released = true;
      faultPoint(`${label} 2`);
      try {
        // Only our own: a lock broken by mistake and taken by another process is that process's to remove.
        if (Number((await readFile(path, 'utf8')).trim()) === process.pid) await rm(path, { force: true });
      } catch {
        // See HeldFolderLock.release.
      } finally {
        held.delete(key);
      }
    },
  };
}

/**
 * Takes the lock at `path` if nobody living holds it, breaking a dead holder's first, and does not wait for a
 * living one. A lock still empty (its holder between creating it and writing its pid) is watched until it names
 * a pid or, empty past the grace, counts as stale.
 */
export async function tryFolderLock(path: string, options: FolderLockOptions): Promise<FolderLockAttempt> {
  const key = await lockKey(path);
  if (held.has(key) || taking.has(key)) return { taken: false, holder: process.pid };
  taking.add(key);
  try {
    const deadline = Date.now() + EMPTY_LOCK_GRACE_MS + 1_000;
    for (;;) {
      if (await createLock(path, options)) {
        held.add(key);
        return { taken: true, lock: heldLock(path, key, options.label) };
      }
      const state = await lockState(path, key, true);
      if (state.kind === 'held') return { taken: false, holder: state.pid };
      if (state.kind === 'unreadable' || Date.now() > deadline) return { taken: false, holder: undefined };
      if (state.kind === 'stale') await removeIfStale(path, key, true);
      if (state.kind === 'starting') await sleep(POLL_MS);
    }
  } finally {
    taking.delete(key);
  }
}

/** Takes the lock at `path`, waiting while another process holds it; undefined when it is still held after `timeoutMs`. */
export async function waitForFolderLock(
  path: string,
  options: FolderLockOptions,
  timeoutMs: number,
): Promise<HeldFolderLock | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const attempt = await tryFolderLock(path, options);
    if (attempt.taken) return attempt.lock;
    if (Date.now() > deadline) return undefined;
    await sleep(POLL_MS);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((wake) => setTimeout(wake, ms));
}
