import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidFileError } from '../errors.js';
import { errnoCode, fileSystemError } from './file-system-error.js';
import { CURRENT_LINK } from './output-set.js';

const SHARD_SUFFIX = /-\d+-of-\d+\.safetensors$/;

/** The escaped stem, for a pattern. */
function escaped(stem: string): string {
  return stem.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Names a loader reads as the model `<stem>`: the one file, the index, or a shard. */
function modelFilePattern(stem: string): RegExp {
  const s = escaped(stem);
  return new RegExp(
    `^(?:${s}\\.safetensors|${s}\\.safetensors\\.index\\.json|${s}-\\d+-of-\\d+\\.safetensors)$`,
  );
}

/** At most four names, then how many more. */
function listed(names: readonly string[]): string {
  return names.length > 4 ? `${names.slice(0, 4).join(', ')} and ${names.length - 4} more` : names.join(', ');
}

async function isOwnLink(folder: string, name: string): Promise<boolean> {
  const path = join(folder, name);
  try {
    return (await lstat(path)).isSymbolicLink() && (await readlink(path)) === join(CURRENT_LINK, name);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return false;
    throw fileSystemError(path, error, 'read');
  }
}

/**
 * Refuses an output folder that holds files of a model `<stem>` this program did not publish there (a model saved
 * by another tool, files copied in) and that the new set (`names`) would not replace: they would outlive the run
 * beside the new files, and a loader picks by name (model.safetensors before the index), so an old one-file model
 * would hide new shards, or an old index and shards sit beside a new one-file model. This program's own links of
 * an earlier set are retired by the publication and do not count. Call it before any work.
 */
export async function checkNoForeignModelFiles(
  folder: string,
  stem: string,
  names: readonly string[],
): Promise<void> {
  let present: string[];
  try {
    present = await readdir(folder);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return;
    throw fileSystemError(folder, error, 'list the output folder');
  }
  const pattern = modelFilePattern(stem);
  const foreign: string[] = [];
  for (const name of present.sort()) {
    if (!pattern.test(name) || names.includes(name)) continue;
    if (!(await isOwnLink(folder, name))) foreign.push(name);
  }
  if (foreign.length === 0) return;
  // The one file or the index first: they say which model a loader takes; the shards only follow.
  const isShard = (name: string) => Number(SHARD_SUFFIX.test(name));
  foreign.sort((a, b) => isShard(a) - isShard(b));
  throw new InvalidFileError(
    folder,
    `holds ${listed(foreign)}, model files this program did not write there and this run would not replace (it writes ${listed(names)}); a loader would read them with or instead of the new ones: move them away or choose another output folder`,
  );
}
