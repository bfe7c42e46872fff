import type { KernelPolicy } from '../align/axis-index.js';
import type { WeightMatchingOptions } from '../align/weight-matching.js';
import { DEFAULT_WEIGHT_MATCHING } from '../align/weight-matching-options.js';
import { UsageError } from '../errors.js';
import { parseByteSize } from './byte-size.js';
import { choiceOption, numberOption, type OptionSpec, type ParsedArgs } from './command.js';

const KERNEL_POLICIES: readonly KernelPolicy[] = ['incompatible', 'centre'];
const ORDERS = ['network', 'random'] as const;
const INITS = ['identity', 'sorted', 'best', 'anchored'] as const;

export const alignmentOptionSpecs: Record<string, OptionSpec> = {
  order: {
    type: 'choice',
    choices: ORDERS,
    description: 'order in which coordinate descent visits the free spaces',
    default: DEFAULT_WEIGHT_MATCHING.order,
  },
  seed: {
    type: 'number',
    integer: true,
    min: 0,
    max: 2 ** 32 - 1,
    valueName: 'n',
    description: "seed for --order random and, in merge, for DARE's drops",
    default: 0,
  },
  'max-sweeps': {
    type: 'number',
    integer: true,
    min: 1,
    max: 1e6,
    valueName: 'n',
    description: 'most sweeps over the free spaces (plans: 50, see below)',
    default: DEFAULT_WEIGHT_MATCHING.maxSweeps,
  },
  tolerance: {
    type: 'number',
    min: 0,
    max: 1,
    valueName: 'x',
    description: 'stop when a sweep raises the objective by no more than x·|objective|',
    default: DEFAULT_WEIGHT_MATCHING.tolerance,
  },
  init: {
    type: 'choice',
    choices: INITS,
    description:
      'start of coordinate descent: identity-with-truncation, units matched by sorted weights, both keeping the better (plans: best, see below), or anchored: identity with a first sweep that solves each space from tensors whose other spaces are known (deep models)',
    default: DEFAULT_WEIGHT_MATCHING.init,
  },
  kernel: {
    type: 'choice',
    choices: KERNEL_POLICIES,
    description: 'convolution kernels of different sizes: refuse, or centre-pad / centre-crop',
    default: DEFAULT_WEIGHT_MATCHING.kernel,
  },
  memory: {
    type: 'string',
    valueName: 'size',
    description:
      'memory weight matching may use in all (16GiB, 8GB, …): refused before anything is read when the estimate is over it; what the widest step leaves keeps tensors between steps (default: 256 MiB kept)',
  },
};

/** The --memory given, in bytes, or undefined; it bounds weight matching only. */
export function memoryOption(args: ParsedArgs, match: 'weights' | 'activations'): number | undefined {
  const text = args.strings.get('memory');
  if (text === undefined) return undefined;
  if (match === 'activations')
    throw new UsageError(
      '--memory bounds weight matching, which streams the tensors; --match activations runs both whole models forward and cannot keep to it',
    );
  return parseByteSize(text, '--memory');
}

/** Why the command line's alignment defaults differ from an assembly plan's (src/assembly/plan-file.ts; help names `mal plan schema`). */
export const alignmentDefaultsNote = [
  'Alignment defaults differ from assembly plans (mal plan schema) on purpose:',
  "  --init identity is Git Re-Basin's start, so two models align as in that paper (a test compares the result",
  '    with an independent Git Re-Basin implementation). Plans default to best because an assembly aligns lone',
  '    layers whose input and output maps are both unknown, where trying the sorted-weights start as well finds',
  '    better matches.',
  '  --max-sweeps 100 lets one alignment run to convergence. Plans cap it at 50 because every step of an',
  '    assembly aligns every candidate, and the cap bounds the time of a step.',
  'The weight-matching objective is the sum of <θ_base, T(θ_target)> over paired tensors: higher is better.',
].join('\n');

export function alignmentOptions(args: ParsedArgs): WeightMatchingOptions {
  return {
    ...DEFAULT_WEIGHT_MATCHING,
    order: choiceOption(args, 'order', ORDERS) ?? DEFAULT_WEIGHT_MATCHING.order,
    seed: numberOption(args, 'seed') ?? 0,
    maxSweeps: numberOption(args, 'max-sweeps') ?? DEFAULT_WEIGHT_MATCHING.maxSweeps,
    tolerance: numberOption(args, 'tolerance') ?? DEFAULT_WEIGHT_MATCHING.tolerance,
    kernel: choiceOption(args, 'kernel', KERNEL_POLICIES) ?? DEFAULT_WEIGHT_MATCHING.kernel,
    init: choiceOption(args, 'init', INITS) ?? DEFAULT_WEIGHT_MATCHING.init,
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
