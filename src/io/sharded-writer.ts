import { join } from 'node:path';
import { InvalidFileError } from '../errors.js';
import { StagedFile, writeFileAtomic } from './atomic-file.js';
import {
  planSafetensors,
  type TensorEntry,
  type TensorProducer,
  tensorByteLength,
  writeSafetensorsContent,
} from './safetensors-writer.js';
import { SHARD_INDEX_FILE } from './shard-index.js';

export interface ShardedWriteOptions {
  /** Largest data size of one shard in bytes; a single tensor larger than this gets a shard of its own. */
  readonly maxShardBytes: number;
  /** `__metadata__` written into every shard. */
  readonly metadata?: Readonly<Record<string, string>>;
}

export interface ShardedWriteResult {
  readonly indexPath: string;
  readonly shardPaths: readonly string[];
}

/**
 * Splits tensors, in the order given (as huggingface_hub groups a state dict), into consecutive groups whose data
 * stays within `maxShardBytes`. Each shard is then laid out in the reference writer's order.
 */
export function splitIntoShards(
  tensors: readonly TensorEntry[],
  maxShardBytes: number,
  folder = 'sharded model',
): TensorEntry[][] {
  const groups: TensorEntry[][] = [];
  let current: TensorEntry[] = [];
  let size = 0;
  for (const entry of tensors) {
    const bytes = tensorByteLength(folder, entry);
    if (current.length > 0 && size + bytes > maxShardBytes) {
      groups.push(current);
      current = [];
      size = 0;
    }
    current.push(entry);
    size += bytes;
  }
  if (current.length > 0 || groups.length === 0) groups.push(current);
  return groups;
}

function shardName(index: number, count: number): string {
  const pad = (n: number) => String(n).padStart(5, '0');
  return `model-${pad(index + 1)}-of-${pad(count)}.safetensors`;
}

/**
 * Writes a sharded model into `folder`: shards named model-0000k-of-0000n.safetensors plus a
 * model.safetensors.index.json. Tensors are produced one at a time, shard by shard, each shard in file order. All shards are written
 * under temporary names and moved into place only once every one is complete, then the index is written; a
 * failure before that leaves the folder as it was.
 */
export async function writeShardedSafetensors(
  folder: string,
  tensors: readonly TensorEntry[],
  produce: TensorProducer,
  options: ShardedWriteOptions,
): Promise<ShardedWriteResult> {
  if (!(options.maxShardBytes > 0)) {
    throw new RangeError(`maxShardBytes must be positive, got ${options.maxShardBytes}`);
  }
  const indexPath = join(folder, SHARD_INDEX_FILE);
  const groups = splitIntoShards(tensors, options.maxShardBytes, folder);
  const names = groups.map((_, i) => shardName(i, groups.length));
  const layouts = groups.map((group, i) => planSafetensors(join(folder, names[i]), group, options.metadata));
  const seen = new Set<string>();
  for (const t of tensors) {
    if (seen.has(t.name)) throw new InvalidFileError(indexPath, 'tensor name given twice', t.name);
    seen.add(t.name);
  }

  const staged: StagedFile[] = [];
  try {
    let firstIndex = 0;
    for (const [i, layout] of layouts.entries()) {
      const file = await StagedFile.create(join(folder, names[i]));
      staged.push(file);
      await writeSafetensorsContent(file.handle, file.finalPath, layout, produce, firstIndex);
      await file.seal();
      firstIndex += layout.entries.length;
    }
    for (const file of staged) await file.commit();
  } catch (error) {
    await Promise.all(staged.map((f) => f.discard()));
    throw error;
  }

  const weightMap: Record<string, string> = Object.create(null);
  let totalSize = 0;
  for (const [i, layout] of layouts.entries()) {
    for (const entry of layout.entries) {
      weightMap[entry.name] = names[i];
      totalSize += entry.end - entry.begin;
    }
  }
  const index = { metadata: { total_size: totalSize }, weight_map: weightMap };
  await writeFileAtomic(indexPath, `${JSON.stringify(index, null, 2)}\n`);
  return { indexPath, shardPaths: names.map((n) => join(folder, n)) };
}
