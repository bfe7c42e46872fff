import type { Stats } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { InvalidFileError } from '../errors.js';
import { describeKind, resolveOutputFile } from './atomic-file.js';
import { errnoCode, fileSystemError } from './file-system-error.js';
import { locateModel } from './open-model.js';
import { readShardIndex } from './shard-index.js';

/** A file or folder a run reads, and what it is to the run ("the base model", "--maps"), for messages. */
export interface RunInput {
  readonly path: string;
  readonly role: string;
}

/**
 * The files a model given as `path` is read from: the safetensors file, or the index and its shards, and the
 * config.json beside them. What does not exist is left out (loading the model reports it).
 */
export async function modelInputFiles(path: string, role: string): Promise<RunInput[]> {
  const location = await locateModel(path);
  const files: string[] = [];
  if (location.kind === 'single') files.push(location.file);
  else {
    files.push(location.index);
    const index = await readShardIndex(location.index);
    for (const shard of new Set(index.weightMap.values())) files.push(join(dirname(location.index), shard));
  }
  const folder = dirname(location.kind === 'single' ? location.file : location.index);
  files.push(join(folder, 'config.json'));
  return files.map((file) => ({ path: file, role }));
}

/** The same file (or folder) whatever the name: a hard link and a symbolic link are caught too. */
function sameFile(a: Stats, b: Stats): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

async function statOrUndefined(path: string, doing: string): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw fileSystemError(path, error, doing);
  }
}

async function inputStats(inputs: readonly RunInput[]): Promise<{ input: RunInput; stats: Stats }[]> {
  const out: { input: RunInput; stats: Stats }[] = [];
  for (const input of inputs) {
    const stats = await statOrUndefined(input.path, 'read');
    if (stats !== undefined) out.push({ input, stats });
  }
  return out;
}

/**
 * Refuses, before any work starts, an output file that may not be written: anything but a regular file (a device
 * such as /dev/null, a folder, a loop; see resolveOutputFile), or a file this same run reads, by any name.
 */
export async function checkOutputFile(output: string, inputs: readonly RunInput[]): Promise<void> {
  const target = await resolveOutputFile(output);
  const stats = await statOrUndefined(target, 'write an output here');
  if (stats === undefined) return;
  for (const { input, stats: other } of await inputStats(inputs)) {
    if (sameFile(stats, other)) {
      throw new InvalidFileError(
        output,
        `is ${input.role} of this run (${input.path}); an output never replaces an input, give another path`,
      );
    }
  }
}

/**
 * Refuses an output folder that may not be written: a file, a path below a file, a folder that holds an input of
 * the run (the base model's folder, the zoo) — its outputs would mix with the inputs, and later runs would take
 * the output for the model — or one of whose output files (`names`) would replace an input.
 */
export async function checkOutputFolder(
  folder: string,
  names: readonly string[],
  inputs: readonly RunInput[],
  inputFolders: readonly RunInput[] = [],
): Promise<void> {
  let stats: Stats | undefined;
  try {
    stats = await stat(folder);
  } catch (error) {
    // ENOTDIR: a folder above is a file; resolveOutputFile below names it.
    if (errnoCode(error) !== 'ENOENT' && errnoCode(error) !== 'ENOTDIR') {
      throw fileSystemError(folder, error, 'use the output folder');
    }
  }
  if (stats === undefined) {
    // Nothing there yet: what is above must be a folder, as for a file.
    await resolveOutputFile(folder);
    return;
  }
  if (!stats.isDirectory()) {
    throw new InvalidFileError(folder, `is ${describeKind(stats)}; the output must be a folder`);
  }
  const folders = [
    ...inputFolders,
    ...inputs.map((input) => ({ path: dirname(input.path), role: `the folder of ${input.role}` })),
  ];
  for (const { input, stats: other } of await inputStats(folders)) {
    if (sameFile(stats, other)) {
      throw new InvalidFileError(
        folder,
        `is ${input.role} (${input.path}); write the outputs to a folder of their own`,
      );
    }
  }
  for (const name of names) await checkOutputFile(join(folder, name), inputs);
}

/** Every file of a folder, for a folder of inputs such as a zoo's models; none when there is no such folder. */
export async function filesIn(folder: string, role: string): Promise<RunInput[]> {
  try {
    return (await readdir(folder)).map((name) => ({ path: join(folder, name), role }));
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return [];
    throw fileSystemError(folder, error, 'list the folder');
  }
}
