import type { CommandDefinition } from '../command.js';
import { modelOptions } from '../model-options.js';

export const inspectCommand: CommandDefinition = {
  name: 'inspect',
  summary:
    'Print a model: its tensors, dtypes and shapes, the derived architecture spec and the width of every space.',
  positionals: ['model'],
  options: {
    ...modelOptions(''),
    json: { type: 'boolean', description: 'print the tensors, spec and widths as JSON' },
  },
  run: async (args, io) => (await import('./inspect-run.js')).runInspect(args, io),
};
