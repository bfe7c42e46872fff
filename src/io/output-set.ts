import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, readlink, rename, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidFileError } from '../errors.js';
import { processIsAlive, removeOrphanedTemporaries, syncFolder, temporaryPathFor } from './atomic-file.js';
import { faultPoint } from './fault-injection.js';
import { errnoCode, fileSystemError } from './file-system-error.js';

/**
 * A set of output files published together (the five files of `mal assemble`, the two of `mal align`), so that a
 * reader sees either the old set or the new one, never a mix, even if the process is killed between two writes.
 *
 * Layout of the output folder:
 *
 *     model.safetensors -> current/model.safetensors     one fixed symbolic link per file of the set
 *     lineage.json      -> current/lineage.json
 *     current           -> .mal-set-<pid>-<hex>          the one link a publication replaces
 *     .mal-set-<pid>-<hex>/                               the files of the published set
 *
 * A new set is written into a fresh `.mal-set-…` folder beside the old one, made durable, and published by ONE
 * atomic rename of a new `current` link over the old: before it, every name shows the old set, after it, the new.
 * Links of names new to this set are made just before that rename and dangle until it (a loader takes a dangling
 * model file for none, src/io/open-model.ts); links the new set lacks go after it.
 * The visible names are links that never change once made, so `out/model.safetensors` stays a path users and
 * other commands can open; a reader that wants several files of one set resolves `current` once and reads
 * through it. The old set's folder is removed after the switch; a folder or temporary left by a killed run is
 * removed when the next run starts (cleanOutputFolder).
 *
 * One writer per folder: a run holds the folder's lock (src/io/output-folder-lock.ts) from cleanOutputFolder to
 * publish, so a second writer cannot take this run's staged set for a killed run's, nor interleave its links. The
 * lock file (`.mal-output.lock`) is no output: it is no link to `current/`, so publishedNames never lists it, and
 * cleanOutputFolder removes only set folders and temporaries.
 */
export const CURRENT_LINK = 'current';
const SET_PREFIX = '.mal-set-';
/** `.mal-set-<pid>-<12 hex>`: recognisable, so that cleaning never touches a file this program did not make. */
const SET_NAME = /^\.mal-set-(\d+)-[0-9a-f]{12}$/;

/** The set `current` names, or undefined when nothing was published yet. */
async function currentSet(folder: string): Promise<string | undefined> {
  try {
    return await readlink(join(folder, CURRENT_LINK));
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    if (errnoCode(error) === 'EINVAL') {
      throw new InvalidFileError(
        join(folder, CURRENT_LINK),
        'is not the link this program publishes its outputs through; move it away or choose another output folder',
      );
    }
    throw fileSystemError(join(folder, CURRENT_LINK), error, 'read the published output set');
  }
}

/**
 * Removes what a killed run of this program left in an output folder: set folders that `current` does not name
 * (of processes that are gone, or of this one), and temporaries of the atomic-file layer. Nothing else is
 * touched. Call it before staging a new set, holding the folder's lock (withOutputFolderLock).
 */
export async function cleanOutputFolder(folder: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(folder);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return;
    throw fileSystemError(folder, error, 'list the output folder');
  }
  const current = await currentSet(folder);
  for (const name of names) {
    const match = SET_NAME.exec(name);
    const pid = Number(match?.[1]);
    // This process has staged nothing yet when it cleans (it cleans first), so a set of its own pid is a killed
    // run's (pids are reused: in a container `mal` often has the same one every time).
    if (match === null || name === current || (pid !== process.pid && processIsAlive(pid))) continue;
    await rm(join(folder, name), { recursive: true, force: true });
  }
  await removeOrphanedTemporaries(folder);
}

/**
 * The names an earlier publication made in `folder`: this program's links to `current/<name>`. A set whose files
 * are known only once it is planned (the shards of a model) passes them to `publish` as `retired`, so that a link
 * of an earlier set it lacks (an old shard, a single file now sharded) does not outlive it.
 */
export async function publishedNames(folder: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(folder);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return [];
    throw fileSystemError(folder, error, 'list the output folder');
  }
  const published: string[] = [];
  for (const name of names) {
    if (name !== CURRENT_LINK && (await linkTarget(join(folder, name))) === join(CURRENT_LINK, name))
      published.push(name);
  }
  return published;
}

/** A set being written: `path(name)` is where each file goes; `publish` switches readers over to it. */
export interface StagedOutputSet {
  readonly folder: string;
  path(name: string): string;
  /**
   * Publishes the set (every name given must have been written) and removes the previous one. `retired`: names an
   * earlier set may have published that this one lacks (an optional output); their links, which would now point at
   * nothing, are removed.
   */
  publish(names: readonly string[], retired?: readonly string[]): Promise<void>;
  /** Removes the staged files; never throws, for error paths. */
  discard(): Promise<void>;
}

export async function stageOutputSet(folder: string): Promise<StagedOutputSet> {
  const setName = `${SET_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}`;
  const staging = join(folder, setName);
  try {
    await mkdir(staging, { recursive: true });
  } catch (error) {
    throw fileSystemError(folder, error, 'create the output folder');
  }
  let published = false;
  return {
    folder: staging,
    path: (name) => join(staging, name),
    async publish(names, retired = []) {
      await syncFolder(staging);
      const previous = await currentSet(folder);
      // The links of names the old set lacks are made before the switch, dangling until it: a loader skips a
      // dangling model file, and no file of the old set names them, so the old set still reads whole. Made after,
      // the switch would show a new index whose new shards have no link yet.
      for (const name of names) {
        const link = join(folder, name);
        const target = join(CURRENT_LINK, name);
        if ((await linkTarget(link)) !== target) await replaceWithLink(link, target, `link ${name}`);
      }
      await syncFolder(folder);
      await replaceWithLink(join(folder, CURRENT_LINK), setName, 'switch to the new set');
      published = true;
      await syncFolder(folder);
      for (const name of retired) {
        if (names.includes(name)) continue;
        const link = join(folder, name);
        // Only this program's own link: a file of that name the user put there is not ours to remove.
        if ((await linkTarget(link)) !== join(CURRENT_LINK, name)) continue;
        try {
          await rm(link, { force: true });
        } catch (error) {
          throw fileSystemError(link, error, 'remove the link of an output this run did not write');
        }
      }
      await syncFolder(folder);
      if (previous !== undefined && previous !== setName && SET_NAME.test(previous)) {
        faultPoint('remove the previous set');
        await rm(join(folder, previous), { recursive: true, force: true });
      }
    },
    async discard() {
      if (!published) await rm(staging, { recursive: true, force: true }).catch(() => undefined);
    },
  };
}

async function linkTarget(path: string): Promise<string | undefined> {
  try {
    const stats = await lstat(path);
    return stats.isSymbolicLink() ? await readlink(path) : undefined;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw fileSystemError(path, error, 'read');
  }
}

/** Makes `path` a symbolic link to `target` in one atomic rename of a new link over whatever was there. */
async function replaceWithLink(path: string, target: string, doing: string): Promise<void> {
  const temporary = temporaryPathFor(path);
  try {
    await symlink(target, temporary);
    faultPoint(doing);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => undefined);
    throw fileSystemError(path, error, doing);
  }
  faultPoint(`${doing}: done`);
}
