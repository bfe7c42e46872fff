import { UNMATCHED_POLICIES } from '../../merge/mal-interpolation.js';
import { alignmentDefaultsNote, alignmentOptionSpecs } from '../alignment-options.js';
import type { CommandDefinition } from '../command.js';
import { evaluationOptionSpecs } from '../evaluation-options.js';
import { modelOptions } from '../model-options.js';

export const lmcCommand: CommandDefinition = {
  name: 'lmc',
  summary:
    'Linear mode connectivity: align the target to the base (or not, with --naive), evaluate (1−λ)·θ + λ·T(θ_target) along a λ grid, and report the curve, the mean LMC loss, the barrier and the merge-factor threshold λ*. With --plot, also draws the curve as an SVG file.',
  positionals: ['base', 'target'],
  options: {
    ...evaluationOptionSpecs,
    grid: { type: 'string', valueName: 'start:step:end|list', description: 'λ grid', default: '0:0.1:1' },
    layers: {
      type: 'string',
      valueName: 'a,b,…',
      description: 'base layers to transplant (default: every paired tensor)',
    },
    naive: {
      type: 'boolean',
      description: 'interpolate without aligning (identity maps, truncated or zero-padded)',
    },
    unmatched: {
      type: 'choice',
      choices: UNMATCHED_POLICIES,
      description: 'base entries no target unit lands on: scale by 1−λ (zero) or keep',
      default: 'zero',
    },
    epsilon: {
      type: 'number',
      min: 0,
      max: 1,
      valueName: 'fraction',
      description: 'λ* tolerance ε as a fraction of L(0)',
      default: 0.01,
    },
    plot: {
      type: 'string',
      valueName: 'file.svg',
      description: 'draw the loss and accuracy curves into this SVG file (default: no plot)',
    },
    threads: {
      type: 'number',
      integer: true,
      min: 1,
      max: 256,
      valueName: 'n',
      description:
        'evaluate λ points on n threads (default: one per core when the first point shows it pays off)',
    },
    ...alignmentOptionSpecs,
    ...modelOptions('base-'),
    ...modelOptions('target-'),
    json: { type: 'boolean', description: 'print the curve and summary as JSON' },
  },
  notes: `Loss (mean cross-entropy), the mean LMC loss and the barrier: lower is better; accuracy: higher is better.\n${alignmentDefaultsNote}`,
  run: async (args, io) => (await import('./lmc-run.js')).runLmc(args, io),
};
