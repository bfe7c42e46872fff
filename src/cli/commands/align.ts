import { alignmentDefaultsNote, alignmentOptionSpecs } from '../alignment-options.js';
import type { CommandDefinition } from '../command.js';
import { modelOptions } from '../model-options.js';
import { maxShardSizeOptionSpec } from '../shard-size-option.js';
import { matchOptionSpec, statisticsOptionSpecs } from '../statistics-options.js';

export const alignCommand: CommandDefinition = {
  name: 'align',
  summary:
    "Map the target model into the base model's frame by weight matching or activation matching (generalized permutations, zero-padding the narrower side). Writes <dir>/maps.json and <dir>/aligned.safetensors, or, for a sharded base or with --max-shard-size, <dir>/aligned-0000k-of-0000n.safetensors shards and <dir>/aligned.safetensors.index.json.",
  positionals: ['base', 'target'],
  options: {
    out: { type: 'string', valueName: 'dir', description: 'output folder', required: true },
    'max-shard-size': maxShardSizeOptionSpec,
    ...alignmentOptionSpecs,
    match: matchOptionSpec,
    ...statisticsOptionSpecs,
    ...modelOptions('base-'),
    ...modelOptions('target-'),
    json: { type: 'boolean', description: 'print a machine-readable summary on stdout' },
  },
  notes: alignmentDefaultsNote,
  run: async (args, io) => (await import('./align-run.js')).runAlign(args, io),
};
