import { UNMATCHED_POLICIES } from '../../merge/mal-interpolation.js';
import { MERGE_METHODS } from '../../merge/merge-method.js';
import { alignmentDefaultsNote, alignmentOptionSpecs } from '../alignment-options.js';
import type { CommandDefinition } from '../command.js';
import { modelOptions } from '../model-options.js';

export const mergeCommand: CommandDefinition = {
  name: 'merge',
  summary:
    "Merge the target into the base: θ ← (1−λ)·θ + λ·T(θ_target), with T the alignment maps (computed unless --maps is given). Writes one safetensors file in the base's layout.",
  positionals: ['base', 'target'],
  options: {
    lambda: {
      type: 'number',
      min: 0,
      max: 1,
      valueName: 'λ',
      description: 'merge factor in [0, 1]',
      required: true,
    },
    out: { type: 'string', valueName: 'file', description: 'output safetensors file', required: true },
    maps: {
      type: 'string',
      valueName: 'maps.json',
      description: "maps written by 'mal align' (skips alignment)",
    },
    method: {
      type: 'choice',
      choices: MERGE_METHODS,
      description:
        "mal: (1−λ)·θ + λ·T(θ_target), any widths; the others need equal widths after alignment (slerp at t = λ; task-arithmetic, ties, dare-* add λ × the target's task vector to the base's, against --ancestor)",
      default: 'mal',
    },
    ancestor: {
      type: 'string',
      valueName: 'model',
      description: 'common ancestor for task-arithmetic, ties and dare-*',
    },
    density: {
      type: 'number',
      above: 0,
      max: 1,
      valueName: 'x',
      description: 'ties: fraction of each task vector kept',
      default: 0.5,
    },
    drop: {
      type: 'number',
      min: 0,
      max: 0.999999,
      valueName: 'p',
      description: 'dare: drop probability',
      default: 0.5,
    },
    unmatched: {
      type: 'choice',
      choices: UNMATCHED_POLICIES,
      description: 'base entries no target unit lands on: scale by 1−λ (zero) or keep as they are (keep)',
      default: 'zero',
    },
    ...alignmentOptionSpecs,
    ...modelOptions('base-'),
    ...modelOptions('target-'),
    json: { type: 'boolean', description: 'print a machine-readable summary on stdout' },
  },
  notes: alignmentDefaultsNote,
  run: async (args, io) => (await import('./merge-run.js')).runMerge(args, io),
};
