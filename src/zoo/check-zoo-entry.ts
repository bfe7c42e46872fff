import { MalError } from '../errors.js';
import { openModel } from '../io/open-model.js';
import type { ZooEntry } from './zoo-manifest.js';
import { resolveZooModel } from './zoo-paths.js';

/**
 * What `mal zoo ls` says of an entry, from the files as they are now rather than the manifest alone: a model
 * whose files are missing, unreadable, outside the zoo or not regular files, or whose header no longer parses,
 * is not "readable" whatever the manifest recorded. Only the header is read; `mal zoo verify` hashes the bytes.
 */
export async function zooEntryStatus(zooDir: string, entry: ZooEntry): Promise<string> {
  let path: string;
  try {
    path = await resolveZooModel(zooDir, entry);
  } catch (error) {
    if (error instanceof MalError) return `unusable: ${error.message}`;
    throw error;
  }
  if (!entry.readable) return `unreadable: ${entry.reason}`;
  try {
    const source = await openModel(path);
    await source.close();
  } catch (error) {
    if (error instanceof MalError) return `unreadable now: ${error.message}`;
    throw error;
  }
  return 'readable';
}
