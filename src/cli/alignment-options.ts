import type { KernelPolicy } from '../align/axis-index.js';
import { DEFAULT_WEIGHT_MATCHING, type WeightMatchingOptions } from '../align/weight-matching.js';
import { UsageError } from '../errors.js';
import { choiceOption, numberOption, type OptionSpec, type ParsedArgs } from './command.js';

const KERNEL_POLICIES: readonly KernelPolicy[] = ['incompatible', 'centre'];

export const alignmentOptionSpecs: Record<string, OptionSpec> = {
  order: {
    type: 'string',
    valueName: 'network|random',
    description: 'order in which coordinate descent visits the free spaces',
    default: DEFAULT_WEIGHT_MATCHING.order,
  },
  seed: { type: 'string', valueName: 'n', description: 'seed for --order random', default: '0' },
  'max-sweeps': {
    type: 'string',
    valueName: 'n',
    description: 'most sweeps over the free spaces',
    default: String(DEFAULT_WEIGHT_MATCHING.maxSweeps),
  },
  tolerance: {
    type: 'string',
    valueName: 'x',
    description: 'stop when a sweep raises the objective by no more than x·|objective|',
    default: String(DEFAULT_WEIGHT_MATCHING.tolerance),
  },
  init: {
    type: 'string',
    valueName: 'identity|sorted|best',
    description:
      'start of coordinate descent: identity-with-truncation, units matched by sorted weights, or both keeping the better',
    default: DEFAULT_WEIGHT_MATCHING.init,
  },
  kernel: {
    type: 'string',
    valueName: KERNEL_POLICIES.join('|'),
    description: 'convolution kernels of different sizes: refuse, or centre-pad / centre-crop',
    default: DEFAULT_WEIGHT_MATCHING.kernel,
  },
};

export function alignmentOptions(args: ParsedArgs): WeightMatchingOptions {
  return {
    ...DEFAULT_WEIGHT_MATCHING,
    order: choiceOption(args, 'order', ['network', 'random'] as const) ?? DEFAULT_WEIGHT_MATCHING.order,
    seed: integer(numberOption(args, 'seed', 0, 2 ** 32 - 1), 'seed') ?? 0,
    maxSweeps:
      integer(numberOption(args, 'max-sweeps', 1, 1e6), 'max-sweeps') ?? DEFAULT_WEIGHT_MATCHING.maxSweeps,
    tolerance: numberOption(args, 'tolerance', 0, 1) ?? DEFAULT_WEIGHT_MATCHING.tolerance,
    kernel: choiceOption(args, 'kernel', KERNEL_POLICIES) ?? DEFAULT_WEIGHT_MATCHING.kernel,
    init: choiceOption(args, 'init', ['identity', 'sorted', 'best'] as const) ?? DEFAULT_WEIGHT_MATCHING.init,
  };
}

/** The options as recorded in maps.json and lineage: plain values only. */
export function recordedAlignmentOptions(options: WeightMatchingOptions): Record<string, string | number> {
  return {
    order: options.order,
    seed: options.seed,
    maxSweeps: options.maxSweeps,
    tolerance: options.tolerance,
    kernel: options.kernel,
    init: options.init,
  };
}

function integer(value: number | undefined, name: string): number | undefined {
  if (value !== undefined && !Number.isInteger(value)) {
    throw new UsageError(`--${name} must be an integer, got ${value}`);
  }
  return value;
}
