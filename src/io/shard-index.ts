import { isAbsolute } from 'node:path';
import { InvalidFileError } from '../errors.js';
import { fileSystemError } from './file-system-error.js';
import { findDuplicateKey } from './json-duplicate-keys.js';
import { readRegularFile } from './read-regular-file.js';

/** File name of a sharded model's index, as Hugging Face writes it. */
export const SHARD_INDEX_FILE = 'model.safetensors.index.json';

export interface ShardIndex {
  /** The index's own `metadata` (Hugging Face puts `total_size` there); free-form JSON. */
  readonly metadata: Readonly<Record<string, unknown>>;
  /** Tensor name → shard file name, relative to the index's folder, in index order. */
  readonly weightMap: ReadonlyMap<string, string>;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Shards must sit beside the index: a path elsewhere is more likely a mistake or a hostile index. */
function isPlainFileName(name: string): boolean {
  return name.length > 0 && !isAbsolute(name) && !/[/\\]/.test(name) && name !== '.' && name !== '..';
}

export async function readShardIndex(indexPath: string): Promise<ShardIndex> {
  let text: string;
  try {
    text = await readRegularFile(indexPath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new InvalidFileError(indexPath, 'no such file');
    throw fileSystemError(indexPath, error, 'read the shard index');
  }
  return parseShardIndex(text, indexPath);
}

/** Parses an index's text; `indexPath` names it in errors. */
export function parseShardIndex(text: string, indexPath: string): ShardIndex {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InvalidFileError(indexPath, `not valid JSON (${(error as Error).message})`);
  }
  if (!isPlainObject(json)) throw new InvalidFileError(indexPath, 'index must be a JSON object');
  const duplicate = findDuplicateKey(text);
  if (duplicate !== undefined) {
    // A tensor listed twice could live in either shard; JSON.parse would keep the last without a word.
    const where = duplicate.path.length === 0 ? 'the index' : `'${duplicate.path.join('.')}'`;
    throw new InvalidFileError(indexPath, `${where} names '${duplicate.key}' twice`);
  }
  const { metadata = {}, weight_map: weightMap } = json;
  if (!isPlainObject(metadata)) throw new InvalidFileError(indexPath, "'metadata' must be an object");
  if (!isPlainObject(weightMap)) {
    throw new InvalidFileError(
      indexPath,
      "not a sharded-model index (model.safetensors.index.json): 'weight_map' must be an object of tensor name → shard file",
    );
  }
  const map = new Map<string, string>();
  for (const [tensor, shard] of Object.entries(weightMap)) {
    if (typeof shard !== 'string' || !isPlainFileName(shard)) {
      throw new InvalidFileError(
        indexPath,
        `shard must be a file name beside the index, got ${JSON.stringify(shard)}`,
        tensor,
      );
    }
    map.set(tensor, shard);
  }
  if (map.size === 0) throw new InvalidFileError(indexPath, "'weight_map' lists no tensors");
  return { metadata, weightMap: map };
}
