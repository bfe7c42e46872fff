import type { ArchitectureFamily } from '../spec/architecture-spec.js';
import { choiceOption, type OptionSpec, type ParsedArgs } from './command.js';

const FAMILIES: readonly ArchitectureFamily[] = ['mlp', 'cnn', 'resnet', 'gpt2', 'llama'];

/** Options every command that reads a model shares: how to learn its architecture. */
export function modelOptions(prefix: '' | 'base-' | 'target-'): Record<string, OptionSpec> {
  const whose = prefix === '' ? 'the model' : `the ${prefix.slice(0, -1)} model`;
  return {
    [`${prefix}spec`]: {
      type: 'string',
      valueName: 'file',
      description: `hand-written architecture spec (JSON or YAML) for ${whose}`,
    },
    [`${prefix}family`]: {
      type: 'choice',
      choices: FAMILIES,
      description: `architecture family of ${whose} (default: detected from tensor names)`,
    },
  };
}

export function modelLoadOptions(
  args: ParsedArgs,
  prefix: '' | 'base-' | 'target-',
): { specFile?: string; family?: ArchitectureFamily } {
  return {
    specFile: args.strings.get(`${prefix}spec`),
    family: choiceOption(args, `${prefix}family`, FAMILIES),
  };
}
