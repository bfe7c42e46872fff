import { ShardedModel } from './sharded-model.js';
import type { TensorSource } from './tensor-source.js';

/** The file a tensor lies in, for messages: its shard in a sharded model (which may have hundreds), else the file. */
export function tensorFile(source: TensorSource, name: string): string {
  return source instanceof ShardedModel ? source.shard(name).path : source.path;
}
