import { parseByteSize } from './byte-size.js';
import type { ParsedArgs, StringOptionSpec } from './command.js';

/** Hugging Face save_pretrained's default max_shard_size. */
export const DEFAULT_MAX_SHARD_SIZE = '5GB';

/** `--max-shard-size`, shared by the commands that write a model in Hugging Face's sharded layout. */
export const maxShardSizeOptionSpec: StringOptionSpec = {
  type: 'string',
  valueName: 'size',
  description: `largest shard of a model written as shards plus an index: 5GB, 500MB (powers of 1000, as Hugging Face), 2GiB, 512MiB, or bytes (default when sharded: ${DEFAULT_MAX_SHARD_SIZE})`,
};

/** The --max-shard-size given, in bytes, or undefined when it was not given. */
export function maxShardSizeOption(args: ParsedArgs): number | undefined {
  const text = args.strings.get('max-shard-size');
  return text === undefined ? undefined : parseByteSize(text, '--max-shard-size');
}

/** The largest shard when the command writes shards: the option's value, else the default. */
export function maxShardBytes(args: ParsedArgs): number {
  return maxShardSizeOption(args) ?? parseByteSize(DEFAULT_MAX_SHARD_SIZE, 'the default shard size');
}
