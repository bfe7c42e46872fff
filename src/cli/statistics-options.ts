import {
  BACKEND_PREFERENCES,
  type BackendPreference,
  backendPreferenceFromEnv,
} from '../compute/backend-preference.js';
import { describeDataSources } from '../data/data-source.js';
import { UsageError } from '../errors.js';
import { choiceOption, numberOption, type OptionSpec, type ParsedArgs } from './command.js';

/** Options of the commands that measure unit statistics on examples (activation matching, REPAIR). */
export const statisticsOptionSpecs: Record<string, OptionSpec> = {
  data: {
    type: 'string',
    valueName: 'source',
    description: `unlabelled examples for activation statistics (--match activations; in mal merge also --repair and --regmean): ${describeDataSources()}`,
  },
  examples: {
    type: 'number',
    integer: true,
    min: 1,
    valueName: 'n',
    description: 'use the first n examples of --data',
    default: 1024,
  },
  'data-dir': {
    type: 'string',
    valueName: 'dir',
    description:
      "folder with the Fashion-MNIST IDX files (default: $MAL_DATA_DIR, then Debian's dataset-fashion-mnist)",
  },
  backend: {
    type: 'choice',
    choices: BACKEND_PREFERENCES,
    description: 'TensorFlow.js backend for the statistics (default: $MAL_BACKEND, else the best available)',
  },
};

export const MATCH_CHOICES = ['weights', 'activations'] as const;

export const matchOptionSpec: OptionSpec = {
  type: 'choice',
  choices: MATCH_CHOICES,
  description:
    'weights: weight matching; activations: each free space matched by the correlation of unit activations on --data (MLP and VGG-style CNN)',
  default: 'weights',
};

export interface StatisticsArgs {
  readonly data: string;
  readonly dataDir?: string;
  readonly examples: number;
  readonly backend: BackendPreference;
}

/** The statistics options, or undefined when `needed` is false; `why` names the option that needs --data. */
export function statisticsArgs(args: ParsedArgs, needed: boolean, why: string): StatisticsArgs | undefined {
  const data = args.strings.get('data');
  if (!needed) {
    if (data !== undefined) throw new UsageError(`--data is read only with ${why}`);
    return undefined;
  }
  if (data === undefined || data === '')
    throw new UsageError(`${why} needs --data <source>: the examples to measure activations on`);
  return {
    data,
    dataDir: args.strings.get('data-dir'),
    examples: numberOption(args, 'examples') ?? 1024,
    backend: choiceOption(args, 'backend', BACKEND_PREFERENCES) ?? backendPreferenceFromEnv(),
  };
}
