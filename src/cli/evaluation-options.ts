import { BACKEND_PREFERENCES, type BackendPreference, backendPreferenceFromEnv } from '../compute/backend.js';
import { describeDataSources } from '../data/data-source.js';
import { UsageError } from '../errors.js';
import { choiceOption, numberOption, type OptionSpec, type ParsedArgs } from './command.js';

export const evaluationOptionSpecs: Record<string, OptionSpec> = {
  data: {
    type: 'string',
    valueName: 'source',
    description: `validation data (required): ${describeDataSources()}`,
  },
  'data-dir': {
    type: 'string',
    valueName: 'dir',
    description:
      "folder with the Fashion-MNIST IDX files (default: $MAL_DATA_DIR, then Debian's dataset-fashion-mnist)",
  },
  limit: { type: 'string', valueName: 'n', description: 'evaluate on the first n examples only' },
  'batch-size': { type: 'string', valueName: 'n', description: 'examples per forward pass', default: '1000' },
  backend: {
    type: 'string',
    valueName: BACKEND_PREFERENCES.join('|'),
    description: 'TensorFlow.js backend (default: $MAL_BACKEND, else the best available)',
  },
};

export interface EvaluationArgs {
  readonly data: string;
  readonly dataDir?: string;
  readonly limit?: number;
  readonly batchSize: number;
  readonly backend: BackendPreference;
}

export function evaluationArgs(args: ParsedArgs): EvaluationArgs {
  const data = args.strings.get('data');
  if (data === undefined) throw new UsageError(`--data <source> is required (${describeDataSources()})`);
  const limit = numberOption(args, 'limit', 1, Number.MAX_SAFE_INTEGER);
  const batchSize = numberOption(args, 'batch-size', 1, 1_000_000) ?? 1000;
  if ((limit !== undefined && !Number.isInteger(limit)) || !Number.isInteger(batchSize)) {
    throw new UsageError('--limit and --batch-size must be whole numbers');
  }
  return {
    data,
    dataDir: args.strings.get('data-dir'),
    limit,
    batchSize,
    backend: choiceOption(args, 'backend', BACKEND_PREFERENCES) ?? backendPreferenceFromEnv(),
  };
}
