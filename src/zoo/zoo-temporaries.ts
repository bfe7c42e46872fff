import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isDeadPid, removeStaleZooLock } from './zoo-lock.js';

/**
 * Temporary names the zoo's writers use, with the writer's pid: `.zoo.json.<pid>.<hex>.tmp` (the manifest) and
 * `models/.<id>.<pid>.<hex>.tmp` (a model being copied in).
 */
const TEMPORARY = /^\..+\.(\d+)\.[0-9a-f]{12}\.tmp$/;

/**
 * Removes the temporaries of writers that died (killed mid-write), in the zoo folder and its models folder, and
 * their lock. A living writer's files are left alone: its pid is still running.
 */
export async function removeDeadTemporaries(zooDir: string, modelsFolder: string): Promise<void> {
  await removeStaleZooLock(zooDir);
  for (const folder of [zooDir, join(zooDir, modelsFolder)]) {
    let names: string[];
    try {
      names = await readdir(folder);
    } catch {
      // No folder yet, or one this user cannot list: nothing of ours to clean there.
      continue;
    }
    for (const name of names) {
      const match = TEMPORARY.exec(name);
      if (match !== null && isDeadPid(Number(match[1]))) {
        await rm(join(folder, name), { recursive: true, force: true });
      }
    }
  }
}
