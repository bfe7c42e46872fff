import { basename, join } from 'node:path';
import { type TensorEntry, type TensorProducer, writeSafetensors } from './safetensors-writer.js';
import { shardFileNames, shardIndexName, writeShardedSafetensors } from './sharded-writer.js';

/**
 * Where a model that a command writes goes: one safetensors file, or a folder laid out as Hugging Face's
 * save_pretrained does it: `<stem>.safetensors` when every tensor fits in one shard, else
 * `<stem>-0000k-of-0000n.safetensors` shards plus `<stem>.safetensors.index.json`.
 */
export type ModelOutput =
  | { readonly kind: 'file'; readonly path: string }
  | {
      readonly kind: 'folder';
      readonly folder: string;
      readonly stem: string;
      /** Largest data size of one shard; a tensor larger than this gets a shard of its own. */
      readonly maxShardBytes: number;
    };

export interface ModelOutputLayout {
  /** The files written, as names in the output's folder: the one file, or the shards and then the index. */
  readonly names: readonly string[];
  /** The name of the file a reader opens: the one file, or the index. */
  readonly entry: string;
  readonly sharded: boolean;
}

/** The files an output will consist of, known before any tensor is produced. */
export function modelOutputLayout(output: ModelOutput, tensors: readonly TensorEntry[]): ModelOutputLayout {
  if (output.kind === 'file') {
    const name = basename(output.path);
    return { names: [name], entry: name, sharded: false };
  }
  const shards = shardFileNames(tensors, output.maxShardBytes, output.stem, output.folder);
  if (shards.length === 1) {
    const name = `${output.stem}.safetensors`;
    return { names: [name], entry: name, sharded: false };
  }
  const index = shardIndexName(output.stem);
  return { names: [...shards, index], entry: index, sharded: true };
}

/**
 * Writes a model one tensor at a time (see writeSafetensors and writeShardedSafetensors): every file appears
 * complete or not at all, and a failure leaves no shard behind.
 */
export async function writeModelOutput(
  output: ModelOutput,
  tensors: readonly TensorEntry[],
  produce: TensorProducer,
  metadata?: Readonly<Record<string, string>>,
): Promise<ModelOutputLayout> {
  const layout = modelOutputLayout(output, tensors);
  if (output.kind === 'file') {
    await writeSafetensors(output.path, tensors, produce, metadata);
  } else if (!layout.sharded) {
    await writeSafetensors(join(output.folder, layout.entry), tensors, produce, metadata);
  } else {
    await writeShardedSafetensors(output.folder, tensors, produce, {
      maxShardBytes: output.maxShardBytes,
      stem: output.stem,
      ...(metadata === undefined ? {} : { metadata }),
    });
  }
  return layout;
}
