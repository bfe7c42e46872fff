import { readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { InvalidFileError } from '../errors.js';
import { errnoCode, fileSystemError } from './file-system-error.js';
import { readRegularFile } from './read-regular-file.js';
import { SafetensorsReader } from './safetensors-reader.js';
import { SHARD_INDEX_FILE } from './shard-index.js';
import { ShardedModel } from './sharded-model.js';
import type { TensorSource } from './tensor-source.js';

const SINGLE_FILE = 'model.safetensors';
const CONFIG_FILE = 'config.json';

export type ModelLocation =
  | { readonly kind: 'single'; readonly file: string }
  | { readonly kind: 'sharded'; readonly index: string };

/** undefined when nothing is there; a symlink loop, a missing permission or a file in the path is reported. */
async function statOrUndefined(path: string, doing: string) {
  try {
    return await stat(path);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw fileSystemError(path, error, doing);
  }
}

/** A file found in a model folder must be a file: a folder, a loop or a device by that name is reported here. */
async function regularFile(path: string): Promise<string> {
  const stats = await statOrUndefined(path, 'read the model');
  if (stats === undefined) throw new InvalidFileError(path, 'no such file (a dangling symbolic link?)');
  if (stats.isDirectory()) throw new InvalidFileError(path, 'is a folder where a model file is expected');
  if (!stats.isFile()) throw new InvalidFileError(path, 'is not a regular file');
  return path;
}

/**
 * Where the tensors of a model live. Accepts a .safetensors file, an index .json file, or a folder holding
 * model.safetensors, model.safetensors.index.json, or exactly one *.safetensors.index.json or *.safetensors.
 */
export async function locateModel(path: string): Promise<ModelLocation> {
  const stats = await statOrUndefined(path, 'read the model');
  if (stats === undefined) throw new InvalidFileError(path, 'no such file or folder');
  if (stats.isFile())
    return path.endsWith('.json') ? { kind: 'sharded', index: path } : { kind: 'single', file: path };
  if (!stats.isDirectory()) throw new InvalidFileError(path, 'neither a file nor a folder');

  let names: string[];
  try {
    names = await readdir(path);
  } catch (error) {
    throw fileSystemError(path, error, 'list the model folder');
  }
  // A dangling link is no file, as Hugging Face's os.path.isfile has it: an output set links the names of its
  // next files just before it switches to them (src/io/output-set.ts), and the current model must still load.
  const files = new Set<string>();
  for (const name of names) {
    const candidate = name.endsWith('.safetensors') || name.endsWith('.safetensors.index.json');
    if (!candidate || (await statOrUndefined(join(path, name), 'read the model')) !== undefined)
      files.add(name);
  }
  if (files.has(SINGLE_FILE)) return { kind: 'single', file: await regularFile(join(path, SINGLE_FILE)) };
  if (files.has(SHARD_INDEX_FILE))
    return { kind: 'sharded', index: await regularFile(join(path, SHARD_INDEX_FILE)) };
  const indexes = [...files].filter((f) => f.endsWith('.safetensors.index.json'));
  if (indexes.length === 1) return { kind: 'sharded', index: await regularFile(join(path, indexes[0])) };
  const singles = [...files].filter((f) => f.endsWith('.safetensors'));
  if (indexes.length === 0 && singles.length === 1)
    return { kind: 'single', file: await regularFile(join(path, singles[0])) };
  const found = [...indexes, ...singles];
  throw new InvalidFileError(
    path,
    found.length === 0
      ? `no ${SINGLE_FILE}, ${SHARD_INDEX_FILE} or other *.safetensors file in this folder`
      : `no ${SINGLE_FILE} or ${SHARD_INDEX_FILE}, and several candidates (${found.sort().join(', ')}); ` +
          'name the file to use',
  );
}

/** Opens the tensors of a model (see locateModel for what `path` may be). */
export async function openModel(path: string): Promise<TensorSource> {
  const location = await locateModel(path);
  return location.kind === 'single'
    ? SafetensorsReader.open(location.file)
    : ShardedModel.open(location.index);
}

/** Where config.json beside the model is (in the folder given, or the folder of the file given); undefined when `path` does not exist. */
async function modelConfigPath(path: string): Promise<string | undefined> {
  const stats = await statOrUndefined(path, 'read the model');
  if (stats === undefined) return undefined;
  return join(stats.isDirectory() ? path : dirname(path), CONFIG_FILE);
}

/** The bytes of config.json beside the model, as they are (to copy it beside a model written from it), or undefined. */
export async function readModelConfigBytes(path: string): Promise<Uint8Array | undefined> {
  const configPath = await modelConfigPath(path);
  if (configPath === undefined) return undefined;
  try {
    return await readRegularFile(configPath);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw fileSystemError(configPath, error, 'read the model configuration');
  }
}

/**
 * config.json beside the model (in the folder given, or the folder of the file given) as a plain object, or
 * undefined when there is none. Architecture code reads head counts and sizes from it.
 */
export async function readModelConfig(path: string): Promise<Record<string, unknown> | undefined> {
  const configPath = await modelConfigPath(path);
  if (configPath === undefined) return undefined;
  let text: string;
  try {
    text = await readRegularFile(configPath, 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw fileSystemError(configPath, error, 'read the model configuration');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InvalidFileError(configPath, `not valid JSON (${(error as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new InvalidFileError(configPath, 'must be a JSON object');
  }
  return json as Record<string, unknown>;
}
