import { BACKEND_PREFERENCES } from '../../compute/backend-preference.js';
import type { CommandDefinition } from '../command.js';

export const assembleCommand: CommandDefinition = {
  name: 'assemble',
  summary:
    'Assemble: the base absorbs, step by step, layers from the zoo that improve the objective (MAL §6). Writes the assembled model, its spec, lineage.json, a model card and an HTML report to the output folder; a rerun resumes from the last finished step.',
  positionals: ['plan'],
  options: {
    out: { type: 'string', valueName: 'dir', description: "output folder (default: the plan's output)" },
    backend: {
      type: 'choice',
      choices: BACKEND_PREFERENCES,
      description: "TensorFlow.js backend (default: the plan's, else $MAL_BACKEND, else auto)",
    },
    json: { type: 'boolean', description: 'print one JSON event per line on stdout instead of the summary' },
  },
  notes:
    "The objective is the plan's Σ weight · value over its tasks, value = the loss or −accuracy: lower is better.",
  run: async (args, io) => (await import('./assemble-run.js')).runAssemble(args, io),
};
