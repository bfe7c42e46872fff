import type { CommandDefinition } from '../command.js';
import { evaluationOptionSpecs } from '../evaluation-options.js';
import { modelOptions } from '../model-options.js';

export const evalCommand: CommandDefinition = {
  name: 'eval',
  summary:
    'Evaluate a model on a data set: mean cross-entropy loss (natural log) and accuracy; for GPT-2 and LLaMA on text, per next token, with perplexity.',
  positionals: ['model'],
  options: {
    ...evaluationOptionSpecs,
    ...modelOptions(''),
    json: { type: 'boolean', description: 'print the result as JSON' },
  },
  run: async (args, io) => (await import('./eval-run.js')).runEval(args, io),
};
