import { lstat, realpath, stat } from 'node:fs/promises';
import { isAbsolute, normalize, relative, resolve, sep } from 'node:path';
import { modelTensorFiles } from './model-hash.js';
import { ZooError } from './zoo-errors.js';
import { onZooPath } from './zoo-file-error.js';

/** What the path checks read of a manifest entry (structural, so the manifest module can use them too). */
interface EntryPath {
  readonly id: string;
  readonly path: string;
  readonly provenance: { readonly kind: string; readonly link?: boolean };
}

/** True when `path` is `folder` or lies below it (both absolute and normalized). */
export function isInside(folder: string, path: string): boolean {
  const r = relative(folder, path);
  return r === '' || (!r.startsWith(`..${sep}`) && r !== '..' && !isAbsolute(r));
}

/**
 * Why a manifest path may not be used, or undefined when it may: a model the zoo holds (not linked) lives below
 * the zoo folder, so an absolute path or one that climbs out (`../../../etc/passwd`) is refused; a linked model
 * (`mal zoo add --link`) points where the user's files are, by design.
 */
export function manifestPathProblem(path: string, linked: boolean): string | undefined {
  if (linked) return undefined;
  if (isAbsolute(path))
    return 'must be relative to the zoo folder (the zoo holds this model), got an absolute path';
  const normalized = normalize(path);
  if (normalized === '..' || normalized.startsWith(`..${sep}`) || normalized === '.') {
    return `leaves the zoo folder (${JSON.stringify(path)}); a model the zoo holds lives below it`;
  }
  return undefined;
}

/** Whether the entry's files are a copy the zoo holds (as opposed to files linked where they are). */
export function isLinked(entry: EntryPath): boolean {
  return entry.provenance.kind === 'added' && entry.provenance.link === true;
}

/**
 * The absolute path of an entry's model, after checking on disk what the manifest cannot promise: every file
 * holding its tensors is a regular file (not a device, a pipe or a folder), and for a model the zoo holds, none
 * leads out of the zoo folder through a symbolic link. Errors name the entry and the file.
 */
export async function resolveZooModel(zooDir: string, entry: EntryPath): Promise<string> {
  const path = resolve(zooDir, entry.path);
  const linked = isLinked(entry);
  const problem = manifestPathProblem(entry.path, linked);
  if (problem !== undefined) throw new ZooError(`zoo model '${entry.id}': path ${problem}`);
  await onZooPath(path, `read zoo model '${entry.id}'`, () => stat(path));
  const { files } = await modelTensorFiles(path);
  const root = linked ? undefined : await onZooPath(zooDir, 'read the zoo folder', () => realpath(zooDir));
  for (const file of files) {
    const real = await onZooPath(file, `read zoo model '${entry.id}'`, () => realpath(file));
    if (root !== undefined && !isInside(root, real)) {
      throw new ZooError(
        `zoo model '${entry.id}': ${file} leads out of the zoo folder (to ${real}); refusing to read it`,
      );
    }
    const stats = await onZooPath(file, `read zoo model '${entry.id}'`, () => stat(real));
    if (!stats.isFile()) {
      throw new ZooError(`zoo model '${entry.id}': ${file} is not a regular file; refusing to read it`);
    }
  }
  return path;
}

/**
 * Checks a file found inside a model folder (a shard, config.json) before it is copied into the zoo: a symbolic
 * link may point elsewhere inside the folder, but not out of it, and the file must be a regular file.
 */
export async function assertStaysInFolder(folder: string, file: string): Promise<void> {
  const root = await onZooPath(folder, 'read the model folder', () => realpath(folder));
  const real = await onZooPath(file, 'read this file of the model', () => realpath(file));
  if (!isInside(root, real)) {
    const link = (await lstat(file).catch(() => undefined))?.isSymbolicLink() === true;
    throw new ZooError(
      `${file} ${link ? 'is a symbolic link that leads' : 'lies'} out of the model's folder ${folder} (to ${real}); ` +
        'refusing to copy it into the zoo',
    );
  }
  const stats = await onZooPath(file, 'read this file of the model', () => stat(real));
  if (!stats.isFile()) throw new ZooError(`${file} is not a regular file; refusing to copy it into the zoo`);
}
