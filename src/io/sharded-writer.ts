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

export interface ShardedWriteOptions {
  /** Largest data size of one shard in bytes; a single tensor larger than this gets a shard of its own. */
  readonly maxShardBytes: number;
  /** `__metadata__` written into every shard. */
  readonly metadata?: Readonly<Record<string, string>>;
  /**
   * What the files are named after: `<stem>-0000k-of-0000n.safetensors` and `<stem>.safetensors.index.json`.
   * Hugging Face's `model` unless given.
   */
  readonly stem?: string;
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

const DEFAULT_STEM = 'model';

function shardName(stem: string, index: number, count: number): string {
  const pad = (n: number) => String(n).padStart(5, '0');
  return `${stem}-${pad(index + 1)}-of-${pad(count)}.safetensors`;
}

/** The index's file name: Hugging Face's model.safetensors.index.json (SHARD_INDEX_FILE) for the stem `model`. */
export function shardIndexName(stem = DEFAULT_STEM): string {
  return `${stem}.safetensors.index.json`;
}

/** The names of the shards `writeShardedSafetensors` writes for these tensors, in order, before any is written. */
export function shardFileNames(
  tensors: readonly TensorEntry[],
  maxShardBytes: number,
  stem = DEFAULT_STEM,
  folder = 'sharded model',
): string[] {
  const groups = splitIntoShards(tensors, maxShardBytes, folder);
  return groups.map((_, i) => shardName(stem, i, groups.length));
}

/**
 * Writes a sharded model into `folder`: shards named model-0000k-of-0000n.safetensors plus a
 * model.safetensors.index.json (or after another stem). Tensors are produced one at a time, shard by shard, each
 * shard in file order. All shards are written under temporary names and moved into place only once every one is
 * complete, then the index is written; a failure before that leaves the folder as it was.
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
  const stem = options.stem ?? DEFAULT_STEM;
  const indexPath = join(folder, shardIndexName(stem));
  const groups = splitIntoShards(tensors, options.maxShardBytes, folder);
  const names = groups.map((_, i) => shardName(stem, i, groups.length));
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
