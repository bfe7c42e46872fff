import { alignModels } from '../../align/align-models.js';
import { planAlignment } from '../../align/alignment-problem.js';
import { checkMapsFitPlan } from '../../align/check-maps.js';
import { readMapsFile } from '../../align/maps-file.js';
import type { SpaceMaps } from '../../align/space-map.js';
import { IncompatibleModelsError, UsageError } from '../../errors.js';
import { UNMATCHED_POLICIES, type UnmatchedPolicy } from '../../merge/mal-interpolation.js';
import {
  MERGE_METHODS,
  type MergeMethod,
  type MergeMethodSettings,
  methodNeedsAncestor,
} from '../../merge/merge-method.js';
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
    method: {
      type: 'string',
      valueName: MERGE_METHODS.join('|'),
      description:
        "mal: (1−λ)·θ + λ·T(θ_target), any widths; the others need equal widths after alignment (slerp at t = λ; task-arithmetic, ties, dare-* add λ × the target's task vector to the base's, against --ancestor)",
      default: 'mal',
    },
    ancestor: {
      type: 'string',
      valueName: 'model',
      description: 'common ancestor for task-arithmetic, ties and dare-*',
    },
    density: {
      type: 'string',
      valueName: 'x',
      description: 'ties: fraction of each task vector kept',
      default: '0.5',
    },
    drop: { type: 'string', valueName: 'p', description: 'dare: drop probability', default: '0.5' },
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
    const method: MergeMethod = choiceOption(args, 'method', MERGE_METHODS) ?? 'mal';
    const ancestorPath = args.strings.get('ancestor');
    if (methodNeedsAncestor(method) && ancestorPath === undefined) {
      throw new UsageError(`--method ${method} needs --ancestor <model> (the models' common ancestor)`);
    }
    const settings: MergeMethodSettings = {
      method,
      lambda,
      unmatched,
      density: numberOption(args, 'density', 1e-9, 1) ?? 0.5,
      dropProbability: numberOption(args, 'drop', 0, 0.999999) ?? 0.5,
      seed: options.seed,
    };

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
        if (method !== 'mal') {
          const uneven = [...maps.values()].find((m) => m.baseWidth !== m.targetWidth);
          if (uneven !== undefined) {
            throw new IncompatibleModelsError(
              `--method ${method} needs models of equal widths, but space '${uneven.baseSpace}' has ${uneven.baseWidth} units in the base and ${uneven.targetWidth} in the target; use --method mal`,
            );
          }
        }
        const ancestor =
          ancestorPath === undefined
            ? undefined
            : await loadModel(ancestorPath, modelLoadOptions(args, 'base-'));
        const summary = await mergeModels(base, target, plan, maps, out, {
          method: settings,
          ancestor,
          kernel: options.kernel,
          metadata: {
            'mal.kind': 'merged',
            'mal.base': base.path,
            'mal.target': target.path,
            'mal.method': method,
            'mal.lambda': String(lambda),
            'mal.unmatched': unmatched,
          },
          onTensor: (name, done, total) => io.progress(`merging ${done}/${total}: ${name}`),
        }).finally(() => ancestor?.source.close());
        if (json) {
          io.out(
            JSON.stringify({
              out,
              method,
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
            `merged ${target.path} into ${base.path} by ${method} with λ = ${lambda}${method === 'mal' ? `, unmatched entries: ${unmatched}` : ''}`,
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
