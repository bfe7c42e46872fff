import { CALIBRATION_KINDS } from '../../eval/calibration.js';
import type { CommandDefinition } from '../command.js';
import { evaluationOptionSpecs } from '../evaluation-options.js';
import { modelOptions } from '../model-options.js';

export const calibrateCommand: CommandDefinition = {
  name: 'calibrate',
  summary:
    "Re-fit a model's output calibration on labelled data (one bias shift per class, optionally a temperature) to minimise the cross-entropy, fold it into the output layer and write the calibrated model.",
  positionals: ['model'],
  options: {
    ...evaluationOptionSpecs,
    ...modelOptions(''),
    kind: {
      type: 'choice',
      choices: CALIBRATION_KINDS,
      description: 'biases: output biases only (default); temperature-biases: a temperature and the biases',
    },
    out: {
      type: 'string',
      valueName: 'file',
      description: 'the calibrated model (.safetensors)',
      required: true,
    },
    json: { type: 'boolean', description: 'print the result as JSON' },
  },
  run: async (args, io) => (await import('./calibrate-run.js')).runCalibrate(args, io),
};
