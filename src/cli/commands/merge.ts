import { alignModels } from '../../align/align-models.js';
import { planAlignment } from '../../align/alignment-problem.js';
import { checkMapsFitPlan } from '../../align/check-maps.js';
import { readMapsFile } from '../../align/maps-file.js';
import type { SpaceMaps } from '../../align/space-map.js';
import { UsageError } from '../../errors.js';
import { UNMATCHED_POLICIES, type UnmatchedPolicy } from '../../merge/mal-interpolation.js';
import { mergeModels } from '../../merge/merge-models.js';
import { loadModel } from '../../model/load-model.js';
import { alignmentOptionSpecs, alignmentOptions } from '../alignment-options.js';
import { describeSpaces, stepReporter } from '../alignment-report.js';
import { type Command, choiceOption, numberOption } from '../command.js';
import { modelLoadOptions, modelOptions } from '../model-options.js';

export const mergeCommand: Command = {
  name: 'merge',
  summary:
    "Merge the target into the base: θ ← (1−λ)·θ + λ·T(θ_target), with T the alignment maps (computed unless --maps is given). Writes one safetensors file in the base's layout.",
  positionals: ['base', 'target'],
  options: {
    lambda: { type: 'string', valueName: 'λ', description: 'merge factor in [0, 1] (required)' },
    out: { type: 'string', valueName: 'file', description: 'output safetensors file (required)' },
    maps: {
      type: 'string',
      valueName: 'maps.json',
      description: "maps written by 'mal align' (skips alignment)",
    },
    unmatched: {
      type: 'string',
      valueName: UNMATCHED_POLICIES.join('|'),
      description: 'base entries no target unit lands on: scale by 1−λ (zero) or keep as they are (keep)',
      default: 'zero',
    },
    ...alignmentOptionSpecs,
    ...modelOptions('base-'),
    ...modelOptions('target-'),
    json: { type: 'boolean', description: 'print a machine-readable summary on stdout' },
  },
  async run(args, io) {
    const out = args.strings.get('out');
    if (out === undefined) throw new UsageError('--out <file> is required');
    const lambda = numberOption(args, 'lambda', 0, 1);
    if (lambda === undefined) throw new UsageError('--lambda <λ> is required');
    const unmatched: UnmatchedPolicy = choiceOption(args, 'unmatched', UNMATCHED_POLICIES) ?? 'zero';
    const options = alignmentOptions(args);
    const json = args.flags.has('json');
    const mapsFile = args.strings.get('maps');

    const base = await loadModel(args.positionals[0], modelLoadOptions(args, 'base-'));
    try {
      const target = await loadModel(args.positionals[1], modelLoadOptions(args, 'target-'));
      try {
        let maps: SpaceMaps;
        let alignment: { objective: number; sweeps: number } | undefined;
        const plan = planAlignment(base, target);
        if (mapsFile !== undefined) {
          maps = await readMapsFile(mapsFile);
          checkMapsFitPlan(plan, maps, mapsFile);
        } else {
          const aligned = await alignModels(base, target, {
            ...options,
            onStep: json ? undefined : stepReporter(io),
          });
          maps = aligned.result.maps;
          alignment = aligned.result;
        }
        const summary = await mergeModels(base, target, plan, maps, out, {
          lambda,
          unmatched,
          kernel: options.kernel,
          metadata: {
            'mal.kind': 'merged',
            'mal.base': base.path,
            'mal.target': target.path,
            'mal.lambda': String(lambda),
            'mal.unmatched': unmatched,
          },
          onTensor: (name, done, total) => io.progress(`merging ${done}/${total}: ${name}`),
        });
        if (json) {
          io.out(
            JSON.stringify({
              out,
              lambda,
              unmatched,
              maps: mapsFile ?? null,
              alignment: alignment ?? null,
              merged: summary.merged.length,
              copied: summary.copied,
              unmatchedEntries: summary.unmatchedEntries,
              totalEntries: summary.totalEntries,
            }),
          );
        } else {
          io.out(
            `merged ${target.path} into ${base.path} with λ = ${lambda}, unmatched entries: ${unmatched}`,
          );
          if (alignment !== undefined) {
            io.out(
              `  aligned by weight matching: objective ${alignment.objective.toPrecision(6)} in ${alignment.sweeps} sweep(s)`,
            );
          } else {
            io.out(`  maps from ${mapsFile}`);
          }
          for (const line of describeSpaces(maps.values())) io.out(`  ${line}`);
          io.out(
            `  ${summary.merged.length} tensors merged, ${summary.copied.length} copied from the base; ${summary.unmatchedEntries} of ${summary.totalEntries} merged entries had no target partner`,
          );
          io.out(`wrote ${out}`);
        }
        return 0;
      } finally {
        await target.source.close();
      }
    } finally {
      await base.source.close();
    }
  },
};
