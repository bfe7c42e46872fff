import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { InvalidFileError } from '../errors.js';
import { locateModel } from '../io/open-model.js';
import { readShardIndex } from '../io/shard-index.js';

/** The files a model's content hash covers and the hash itself (lowercase hex SHA-256). */
export interface ModelHash {
  readonly sha256: string;
  /** Absolute or given-relative paths, in hashing order: the single file, or the index then its shards. */
  readonly files: readonly string[];
}

// Same order ShardedModel opens shards in, so "in order" means the order the model is read in.
const shardOrder = new Intl.Collator('en', { numeric: true }).compare;

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new InvalidFileError(path, 'no such file');
    throw error;
  }
  return hash.digest('hex');
}

/**
 * The files holding a model's tensors: a single .safetensors file, or a shard index followed by its shards. An
 * index that cannot be parsed covers itself alone, so an unreadable model still gets a hash to list it under.
 */
export async function modelTensorFiles(
  path: string,
): Promise<{ readonly sharded: boolean; readonly files: string[] }> {
  const location = await locateModel(path);
  if (location.kind === 'single') return { sharded: false, files: [location.file] };
  let shards: string[];
  try {
    const index = await readShardIndex(location.index);
    shards = [...new Set(index.weightMap.values())].sort(shardOrder);
  } catch {
    return { sharded: true, files: [location.index] };
  }
  return {
    sharded: true,
    files: [location.index, ...shards.map((shard) => join(dirname(location.index), shard))],
  };
}

/**
 * Content hash of a model's tensor files. A single file hashes to the SHA-256 of its bytes (what `sha256sum`
 * prints). A sharded model hashes to the SHA-256 of the `sha256sum`-style listing of its index and shards in
 * order, one `<hex>  <file name>\n` line each: a change to any byte, or to which shard a name points at, changes
 * it, and the listing has no ambiguous boundaries between files. config.json is not covered: it does not hold
 * weights.
 */
export async function hashModel(path: string): Promise<ModelHash> {
  const { sharded, files } = await modelTensorFiles(path);
  if (!sharded) return { sha256: await sha256File(files[0]), files };
  const listing = createHash('sha256');
  for (const file of files) listing.update(`${await sha256File(file)}  ${basename(file)}\n`);
  return { sha256: listing.digest('hex'), files };
}
