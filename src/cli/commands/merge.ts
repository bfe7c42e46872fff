import type { MergeMethodParameterRow } from '../../merge/merge-method-registry.js';
import { alignmentDefaultsNote, alignmentOptionSpecs } from '../alignment-options.js';
import type { CommandDefinition, OptionSpec } from '../command.js';
import { modelOptions } from '../model-options.js';
import { maxShardSizeOptionSpec } from '../shard-size-option.js';
import { matchOptionSpec, statisticsOptionSpecs } from '../statistics-options.js';

/**
 * `mal merge`, its method options generated from the merge-method registry: every method's parameters become
 * options (`--density`, `--drop-probability`, …) and the help lists each method with its parameters, so a new
 * method file shows up here with nothing else to change. The registry (and zod) load only when `merge` is named.
 */
export async function mergeCommand(): Promise<CommandDefinition> {
  const registry = await import('../../merge/merge-method-registry.js');
  const parameters: Record<string, OptionSpec> = {};
  const users = new Map<string, string[]>();
  for (const method of registry.MERGE_METHOD_NAMES) {
    for (const row of registry.mergeMethodParameterRows(method)) {
      users.set(row.flag, [...(users.get(row.flag) ?? []), method]);
      if (parameters[row.flag] !== undefined) continue;
      parameters[row.flag] = parameterOption(row);
    }
  }
  for (const [flag, methods] of users) {
    const spec = parameters[flag];
    parameters[flag] = { ...spec, description: `${methods.join(', ')}: ${spec.description}` };
  }
  return {
    name: 'merge',
    summary:
      "Merge the target into the base: θ ← (1−λ)·θ + λ·T(θ_target), with T the alignment maps (computed unless --maps is given). Writes one safetensors file in the base's layout (--out x.safetensors), or a Hugging Face model folder (any other --out): model.safetensors, or model-0000k-of-0000n.safetensors shards and model.safetensors.index.json, with the base's config.json.",
    positionals: ['base', 'target'],
    options: {
      lambda: {
        type: 'number',
        min: 0,
        max: 1,
        valueName: 'λ',
        description: "merge factor in [0, 1]: the target's weight",
        required: true,
      },
      out: {
        type: 'string',
        valueName: 'file|dir',
        description:
          'output: a path ending in .safetensors is one file; any other path is a model folder, sharded as Hugging Face saves one',
        required: true,
      },
      'max-shard-size': maxShardSizeOptionSpec,
      maps: {
        type: 'string',
        valueName: 'maps.json',
        description: "maps written by 'mal align' (skips alignment)",
      },
      method: {
        type: 'choice',
        choices: registry.MERGE_METHOD_NAMES,
        description: 'the merge method (each with its parameters below, under Methods)',
        default: 'mal',
      },
      ancestor: {
        type: 'string',
        valueName: 'model',
        description: `common ancestor, needed by ${registry.MERGE_METHOD_DEFINITIONS.filter(
          (m) => m.needsAncestor,
        )
          .map((m) => m.name)
          .join(', ')}`,
      },
      ...parameters,
      ...alignmentOptionSpecs,
      match: matchOptionSpec,
      repair: {
        type: 'boolean',
        description:
          "REPAIR: set each merged hidden unit's pre-activation mean and spread on --data to the λ-interpolation of the endpoints' (BatchNorm statistics recomputed instead)",
      },
      regmean: {
        type: 'boolean',
        description:
          "RegMean (MLP): each dense layer fed by merged layers becomes the least-squares fit of what both endpoints' layers compute on their own inputs on --data, weighted 1−λ and λ (needs --method mal; applied before --repair)",
      },
      ...statisticsOptionSpecs,
      ...modelOptions('base-'),
      ...modelOptions('target-'),
      json: { type: 'boolean', description: 'print a machine-readable summary on stdout' },
    },
    notes: `Methods:\n${registry.describeMergeMethods()}\n\n${alignmentDefaultsNote}`,
    run: async (args, io) => (await import('./merge-run.js')).runMerge(args, io),
  };
}

function parameterOption(row: MergeMethodParameterRow): OptionSpec {
  // No default here: the registry fills it in, and an option given for another method must be seen as given.
  const description = row.default === '' ? row.description : `${row.description} (default: ${row.default})`;
  if (row.choices !== undefined) return { type: 'choice', choices: row.choices, description };
  if (row.bounds === undefined) return { type: 'string', description };
  // Inclusive bounds are checked here; an exclusive upper bound is left to the registry, which states it as such.
  const { minimum, exclusiveMinimum, maximum } = row.bounds;
  return {
    type: 'number',
    valueName: 'x',
    description,
    ...(minimum === undefined ? {} : { min: minimum }),
    ...(exclusiveMinimum === undefined ? {} : { above: exclusiveMinimum }),
    ...(maximum === undefined ? {} : { max: maximum }),
  };
}
