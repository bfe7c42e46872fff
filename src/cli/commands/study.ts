import { BACKEND_PREFERENCES } from '../../compute/backend-preference.js';
import type { CommandDefinition } from '../command.js';

export const studyCommand: CommandDefinition = {
  name: 'study',
  summary:
    "Run a study (MAL §5's sweep): for ordered pairs of zoo models, transplant layers at the study's positions, aligned and naive, and measure the λ curve, mean LMC loss, barrier, λ* and accuracy at λ = 0.5. Trains the zoo grid first if the study asks. Writes study.arrow, study.csv, study.json and report.html to the output folder; a rerun measures only the cells no earlier run finished.",
  positionals: ['study'],
  options: {
    out: { type: 'string', valueName: 'dir', description: "output folder (default: the study's `out`)" },
    threads: {
      type: 'number',
      integer: true,
      min: 1,
      max: 256,
      valueName: 'n',
      description: 'measure cells on n threads (default: one per core)',
    },
    backend: {
      type: 'choice',
      choices: BACKEND_PREFERENCES,
      description: "TensorFlow.js backend (default: the study's, else auto)",
    },
    prune: {
      type: 'boolean',
      description:
        "after writing the outputs, remove the cell files of cells the study no longer has (an earlier version's, another backend's)",
    },
    json: { type: 'boolean', description: 'print the outcome as JSON on stdout' },
  },
  notes:
    'Mean LMC loss and barrier: lower is better; λ* and accuracy: higher is better. The study file format: docs/study.md.',
  run: async (args, io) => (await import('./study-run.js')).runStudyCommand(args, io),
};
