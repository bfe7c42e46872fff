import { access } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { InvalidFileError } from '../errors.js';
import type { RawTensor } from '../tensor/tensor.js';
import type { NamedTensor } from './named-tensor.js';
import { DEFAULT_READ_CONCURRENCY, readAhead } from './read-ahead.js';
import { SafetensorsReader } from './safetensors-reader.js';
import { readShardIndex } from './shard-index.js';
import type { TensorInfo, TensorSource } from './tensor-source.js';

const naturalOrder = new Intl.Collator('en', { numeric: true }).compare;

/**
 * A model split over several safetensors files, described by a `model.safetensors.index.json`. Every shard is
 * opened (header only) up front, and the index is checked against what the shards really hold, so an
 * inconsistent model fails on open rather than halfway through a merge.
 */
export class ShardedModel implements TensorSource {
  private constructor(
    /** The index file. */
    readonly path: string,
    readonly indexMetadata: Readonly<Record<string, unknown>>,
    /** Shards in file-name order (model-00001-of-…, model-00002-of-…). */
    readonly shards: readonly SafetensorsReader[],
    private readonly shardOf: ReadonlyMap<string, SafetensorsReader>,
    private readonly names: readonly string[],
  ) {}

  static async open(indexPath: string): Promise<ShardedModel> {
    const index = await readShardIndex(indexPath);
    const folder = dirname(indexPath);
    const shardFiles = [...new Set(index.weightMap.values())].sort(naturalOrder);
    const shards: SafetensorsReader[] = [];
    try {
      for (const shardFile of shardFiles) {
        const shardPath = join(folder, shardFile);
        try {
          await access(shardPath);
        } catch {
          throw new InvalidFileError(
            indexPath,
            `shard file '${shardFile}' listed in the index does not exist`,
          );
        }
        shards.push(await SafetensorsReader.open(shardPath));
      }
      const byFile = new Map(shardFiles.map((file, i) => [file, shards[i]]));
      const shardOf = new Map<string, SafetensorsReader>();
      for (const shard of shards) {
        for (const name of shard.tensorNames()) {
          const other = shardOf.get(name);
          if (other !== undefined) {
            throw new InvalidFileError(
              indexPath,
              `held by two shards, '${other.path}' and '${shard.path}'`,
              name,
            );
          }
          const listed = index.weightMap.get(name);
          if (listed === undefined) {
            throw new InvalidFileError(
              indexPath,
              `held by shard '${shard.path}' but not listed in the index`,
              name,
            );
          }
          if (byFile.get(listed) !== shard) {
            throw new InvalidFileError(
              indexPath,
              `listed for shard '${listed}' but held by '${shard.path}'`,
              name,
            );
          }
          shardOf.set(name, shard);
        }
      }
      for (const [name, shardFile] of index.weightMap) {
        if (!shardOf.has(name)) {
          throw new InvalidFileError(indexPath, `listed for shard '${shardFile}' but absent from it`, name);
        }
      }
      const names = Object.freeze(shards.flatMap((s) => s.tensorNames()));
      return new ShardedModel(indexPath, index.metadata, shards, shardOf, names);
    } catch (error) {
      await Promise.all(shards.map((s) => s.close()));
      throw error;
    }
  }

  /** `__metadata__` of the first shard. */
  get metadata(): Readonly<Record<string, string>> {
    return this.shards[0].metadata;
  }

  tensorNames(): readonly string[] {
    return this.names;
  }

  /** The shard holding a tensor. */
  shard(name: string): SafetensorsReader {
    const shard = this.shardOf.get(name);
    if (shard === undefined)
      throw new InvalidFileError(this.path, 'no tensor of this name in the model', name);
    return shard;
  }

  info(name: string): TensorInfo {
    return this.shard(name).info(name);
  }

  async read(name: string): Promise<RawTensor> {
    return this.shard(name).read(name);
  }

  async readInto(name: string, target: Uint8Array): Promise<RawTensor> {
    return this.shard(name).readInto(name, target);
  }

  readMany(
    names: readonly string[] = this.names,
    concurrency: number = DEFAULT_READ_CONCURRENCY,
  ): AsyncGenerator<NamedTensor> {
    return readAhead(this, names, concurrency);
  }

  async close(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.close()));
  }
}
