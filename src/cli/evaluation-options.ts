import {
  BACKEND_PREFERENCES,
  type BackendPreference,
  backendPreferenceFromEnv,
} from '../compute/backend-preference.js';
import { describeDataSources } from '../data/data-source.js';
import { describeTextSources } from '../data/text-source.js';
import { choiceOption, numberOption, type OptionSpec, type ParsedArgs, requiredString } from './command.js';

export const evaluationOptionSpecs: Record<string, OptionSpec> = {
  data: {
    type: 'string',
    valueName: 'source',
    description: `validation data: ${describeDataSources()}; for GPT-2 and LLaMA models, ${describeTextSources()}`,
    required: true,
  },
  'data-dir': {
    type: 'string',
    valueName: 'dir',
    description:
      "folder with the Fashion-MNIST IDX files (default: $MAL_DATA_DIR, then Debian's dataset-fashion-mnist)",
  },
  limit: {
    type: 'number',
    integer: true,
    min: 1,
    valueName: 'n',
    description: 'evaluate on the first n examples (for transformers: sequences) only',
  },
  context: {
    type: 'number',
    integer: true,
    min: 1,
    valueName: 'tokens',
    description:
      "transformers: tokens per sequence (default: the model's context, from config.json or its position table)",
  },
  'batch-size': {
    type: 'number',
    integer: true,
    min: 1,
    max: 1_000_000,
    valueName: 'n',
    description: 'examples per forward pass',
    default: 1000,
  },
  backend: {
    type: 'choice',
    choices: BACKEND_PREFERENCES,
    description: 'TensorFlow.js backend (default: $MAL_BACKEND, else the best available)',
  },
};

export interface EvaluationArgs {
  readonly data: string;
  readonly dataDir?: string;
  readonly limit?: number;
  /** Transformers: tokens per sequence; undefined means the model's context. */
  readonly context?: number;
  readonly batchSize: number;
  readonly backend: BackendPreference;
}

export function evaluationArgs(args: ParsedArgs): EvaluationArgs {
  return {
    data: requiredString(args, 'data'),
    dataDir: args.strings.get('data-dir'),
    limit: numberOption(args, 'limit'),
    context: numberOption(args, 'context'),
    batchSize: numberOption(args, 'batch-size') ?? 1000,
    backend: choiceOption(args, 'backend', BACKEND_PREFERENCES) ?? backendPreferenceFromEnv(),
  };
}
