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
import { alignmentOptions } from '../alignment-options.js';
import { describeSpaces, stepReporter } from '../alignment-report.js';
import type { CommandIO, ParsedArgs } from '../command.js';
import { choiceOption, numberOption, requiredNumber, requiredString } from '../command.js';
import { ALIGNMENT_OBJECTIVE, HIGHER_IS_BETTER } from '../directions.js';
import { modelLoadOptions } from '../model-options.js';

export async function runMerge(args: ParsedArgs, io: CommandIO): Promise<number> {
  const out = requiredString(args, 'out');
  const lambda = requiredNumber(args, 'lambda');
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
    density: numberOption(args, 'density') ?? 0.5,
    dropProbability: numberOption(args, 'drop-probability') ?? 0.5,
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
            directions: { objective: ALIGNMENT_OBJECTIVE },
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
            `  aligned by weight matching: objective ${alignment.objective.toPrecision(6)} ${HIGHER_IS_BETTER} in ${alignment.sweeps} sweep(s)`,
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
}
