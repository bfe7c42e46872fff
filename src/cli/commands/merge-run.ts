import { join } from 'node:path';
import { alignModelsByActivations } from '../../align/align-models.js';
import { planAlignment } from '../../align/alignment-problem.js';
import { checkMapsFitPlan } from '../../align/check-maps.js';
import { readMapsFile } from '../../align/maps-file.js';
import type { SpaceMaps } from '../../align/space-map.js';
import { initBackend } from '../../compute/backend.js';
import type { Dataset } from '../../data/dataset.js';
import { MalError, UsageError } from '../../errors.js';
import { forwardConfigOf, loadDatasetFor } from '../../eval/model-evaluation.js';
import { REGMEAN_FAMILIES } from '../../eval/regmean.js';
import { checkNoForeignModelFiles } from '../../io/foreign-model-files.js';
import {
  MODEL_CONFIG_FILE,
  MODEL_STEM,
  modelFolderNames,
  publishModelFolder,
} from '../../io/model-folder.js';
import type { ModelOutput, ModelOutputLayout } from '../../io/model-output.js';
import { readModelConfigBytes } from '../../io/open-model.js';
import { checkOutputFolderFree } from '../../io/output-folder-lock.js';
import { checkOutputFile, checkOutputFolder, modelInputFiles } from '../../io/output-guard.js';
import { SHARD_INDEX_FILE } from '../../io/shard-index.js';
import {
  assertMethodFitsWidths,
  MERGE_METHOD_NAMES,
  type MergeMethodChoice,
  mergeMethod,
  mergeMethodParameterRows,
  parseMergeMethodChoice,
} from '../../merge/merge-method-registry.js';
import { mergedTensorEntries, mergeModels } from '../../merge/merge-models.js';
import { loadModel } from '../../model/load-model.js';
import { alignmentOptions, memoryOption } from '../alignment-options.js';
import { describeSpaces } from '../alignment-report.js';
import type { CommandIO, ParsedArgs } from '../command.js';
import { choiceOption, numberOption, requiredNumber, requiredString } from '../command.js';
import { alignWithCostProducts, type CostProductSource } from '../cost-product-source.js';
import { ALIGNMENT_OBJECTIVE, HIGHER_IS_BETTER } from '../directions.js';
import { modelLoadOptions } from '../model-options.js';
import { optionalInputs } from '../run-inputs.js';
import { maxShardBytes, maxShardSizeOption } from '../shard-size-option.js';
import { MATCH_CHOICES, statisticsArgs } from '../statistics-options.js';

/** `--out x.safetensors` is one file; any other path a model folder in Hugging Face's layout. */
const ONE_FILE = /\.safetensors$/i;

/** `products`: where weight matching's cost-matrix products run (default: here); the full program's `--nats`. */
export async function runMerge(
  args: ParsedArgs,
  io: CommandIO,
  products?: CostProductSource,
): Promise<number> {
  const out = requiredString(args, 'out');
  const lambda = requiredNumber(args, 'lambda');
  const options = alignmentOptions(args);
  const json = args.flags.has('json');
  const mapsFile = args.strings.get('maps');
  const choice = methodChoice(args);
  const { method } = choice;
  const unmatched = choice.method === 'mal' ? choice.unmatched : 'zero';
  const ancestorPath = args.strings.get('ancestor');
  const match = choiceOption(args, 'match', MATCH_CHOICES) ?? 'weights';
  const repair = args.flags.has('repair');
  const regmean = args.flags.has('regmean');
  if (regmean && method !== 'mal')
    throw new UsageError(`--regmean re-solves MAL's interpolation, so it needs --method mal, not ${method}`);
  const toFolder = !ONE_FILE.test(out);
  if (!toFolder && maxShardSizeOption(args) !== undefined)
    throw new UsageError(
      `--max-shard-size shards a model folder, but --out ${out} is one file; give a folder (a path not ending in .safetensors)`,
    );
  if (match === 'activations' && mapsFile !== undefined)
    throw new UsageError('--match activations computes the maps; it cannot be combined with --maps');
  const memoryBytes = memoryOption(args, match);
  const statistics = statisticsArgs(
    args,
    repair || regmean || match === 'activations',
    '--repair, --regmean or --match activations',
  );
  const definition = mergeMethod(method);
  if (definition.needsAncestor && ancestorPath === undefined)
    throw new UsageError(`--method ${method} needs --ancestor <model> (the models' common ancestor)`);
  if (!definition.needsAncestor && ancestorPath !== undefined)
    throw new UsageError(`--method ${method} reads no ancestor; --ancestor is for the task-vector methods`);

  // Before any work: the output may replace only a regular file, never one this run reads.
  const inputs = [
    ...(await modelInputFiles(args.positionals[0], 'the base model')),
    ...(await modelInputFiles(args.positionals[1], 'the target model')),
    ...(ancestorPath === undefined ? [] : await modelInputFiles(ancestorPath, 'the ancestor')),
    ...optionalInputs(args, { maps: '--maps', 'base-spec': '--base-spec', 'target-spec': '--target-spec' }),
  ];
  if (toFolder) {
    // The shards' names are known once the base is loaded, and checked then.
    await checkOutputFolder(out, ['model.safetensors', SHARD_INDEX_FILE, MODEL_CONFIG_FILE], inputs);
    // Another merge writing there would refuse this one only at the end, after the alignment.
    await checkOutputFolderFree(out);
  } else {
    await checkOutputFile(out, inputs);
  }

  const base = await loadModel(args.positionals[0], modelLoadOptions(args, 'base-'));
  try {
    if (regmean && !REGMEAN_FAMILIES.includes(base.spec.family))
      throw new UsageError(
        `--regmean solves dense layers of MLP models only, and ${args.positionals[0]} is a '${base.spec.family}' model`,
      );
    const folderOptions = toFolder
      ? { maxShardBytes: maxShardBytes(args), config: await readModelConfigBytes(args.positionals[0]) }
      : undefined;
    if (folderOptions !== undefined) {
      const names = modelFolderNames(out, mergedTensorEntries(base), folderOptions);
      await checkOutputFolder(out, names, inputs);
      await checkNoForeignModelFiles(out, MODEL_STEM, names);
    }
    const target = await loadModel(args.positionals[1], modelLoadOptions(args, 'target-'));
    try {
      let maps: SpaceMaps;
      let alignment: { objective: number; sweeps: number } | undefined;
      const plan = planAlignment(base, target);
      let data: Dataset | undefined;
      if (statistics !== undefined) {
        await initBackend(statistics.backend);
        data = await loadDatasetFor(base.spec, statistics.data, {
          dataDir: statistics.dataDir,
          limit: statistics.examples,
        });
      }
      // Known before aligning: a method for equal widths cannot use models of other widths.
      assertMethodFitsWidths(method, plan.spaces);
      if (mapsFile !== undefined) {
        maps = await readMapsFile(mapsFile, plan);
        checkMapsFitPlan(plan, maps, mapsFile);
      } else if (match === 'activations' && data !== undefined) {
        io.progress(`measuring activations of both models on ${data.count} examples of ${data.name}`);
        const aligned = await alignModelsByActivations(base, target, { data });
        maps = aligned.result.maps;
        alignment = aligned.result;
      } else {
        const aligned = await alignWithCostProducts(
          products,
          base,
          target,
          io,
          { ...options, memoryBytes },
          json,
        );
        maps = aligned.result.maps;
        alignment = aligned.result;
      }
      const ancestor =
        ancestorPath === undefined
          ? undefined
          : await loadModel(ancestorPath, modelLoadOptions(args, 'base-'));
      const merge = (output: ModelOutput) =>
        mergeModels(base, target, plan, maps, output, {
          method: { choice, lambda, seed: options.seed },
          ancestor,
          kernel: options.kernel,
          ...(repair && data !== undefined
            ? { repair: { spec: base.spec, config: forwardConfigOf(base), data } }
            : {}),
          ...(regmean && data !== undefined
            ? { regmean: { spec: base.spec, config: forwardConfigOf(base), data } }
            : {}),
          metadata: {
            'mal.kind': 'merged',
            'mal.base': base.path,
            'mal.target': target.path,
            'mal.method': method,
            'mal.lambda': String(lambda),
            'mal.unmatched': unmatched,
            'mal.match': match,
            'mal.repair': repair ? 'repair' : 'none',
            'mal.regmean': String(regmean),
            ...(statistics === undefined
              ? {}
              : { 'mal.statistics': `${statistics.data} (first ${statistics.examples} examples)` }),
          },
          onTensor: (name, done, total) => io.progress(`merging ${done}/${total}: ${name}`),
        });
      const { summary, files } = await (folderOptions === undefined
        ? merge({ kind: 'file', path: out }).then((summary) => ({ summary, files: [out] }))
        : publishModelFolder(out, mergedTensorEntries(base), folderOptions, merge).then((published) => ({
            summary: published.result,
            files: published.names.map((name) => join(out, name)),
          }))
      ).finally(() => ancestor?.source.close());
      if (json) {
        io.out(
          JSON.stringify({
            out,
            files,
            method,
            lambda,
            unmatched,
            match,
            repair,
            regmean,
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
            match === 'activations'
              ? `  aligned by activation matching: summed correlation of matched units ${alignment.objective.toPrecision(6)} ${HIGHER_IS_BETTER}`
              : `  aligned by weight matching: objective ${alignment.objective.toPrecision(6)} ${HIGHER_IS_BETTER} in ${alignment.sweeps} sweep(s)`,
          );
        } else {
          io.out(`  maps from ${mapsFile}`);
        }
        for (const line of describeSpaces(maps.values())) io.out(`  ${line}`);
        io.out(
          `  ${summary.merged.length} tensors merged, ${summary.copied.length} copied from the base; ${summary.unmatchedEntries} of ${summary.totalEntries} merged entries had no target partner`,
        );
        if (regmean)
          io.out(
            `  dense layers solved by RegMean on ${statistics?.examples} examples of ${statistics?.data}`,
          );
        if (repair) io.out(`  REPAIRed on ${statistics?.examples} examples of ${statistics?.data}`);
        io.out(`wrote ${toFolder ? describeModelFolder(out, summary.layout, files) : out}`);
      }
      return 0;
    } finally {
      await target.source.close();
    }
  } finally {
    await base.source.close();
  }
}

/**
 * The method and the parameters given for it, checked by the registry (which fills in the defaults). A parameter
 * of another method is refused rather than ignored.
 */
function methodChoice(args: ParsedArgs): MergeMethodChoice {
  const method = choiceOption(args, 'method', MERGE_METHOD_NAMES) ?? 'mal';
  const takes = new Set(Object.keys(mergeMethod(method).parameters.shape));
  const given: Record<string, unknown> = {};
  for (const other of MERGE_METHOD_NAMES) {
    for (const row of mergeMethodParameterRows(other)) {
      const value = row.choices === undefined ? numberOption(args, row.flag) : args.strings.get(row.flag);
      if (value === undefined) continue;
      if (!takes.has(row.name))
        throw new UsageError(`--${row.flag} is a parameter of method '${other}', not of '${method}'`);
      given[row.name] = value;
    }
  }
  try {
    return parseMergeMethodChoice({ method, ...given });
  } catch (error) {
    if (error instanceof MalError) throw new UsageError(error.message);
    throw error;
  }
}

/** `out/model.safetensors.index.json and its 3 shards, with config.json`: what a folder output holds. */
function describeModelFolder(folder: string, layout: ModelOutputLayout, files: readonly string[]): string {
  const shards = layout.sharded ? ` and its ${layout.names.length - 1} shards` : '';
  const config = files.includes(join(folder, MODEL_CONFIG_FILE)) ? `, with ${MODEL_CONFIG_FILE}` : '';
  return `${join(folder, layout.entry)}${shards}${config}`;
}
