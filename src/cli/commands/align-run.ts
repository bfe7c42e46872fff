import { join } from 'node:path';
import {
  type AlignModelsResult,
  alignModelsByActivations,
  type StreamedAlignment,
} from '../../align/align-models.js';
import { planAlignment } from '../../align/alignment-problem.js';
import { MAPS_FORMAT_VERSION, type MapsDocument, spaceMapsToDocument } from '../../align/maps-file.js';
import { alignedTensorEntries, writeAlignedTarget } from '../../align/write-aligned.js';
import { initBackend } from '../../compute/backend.js';
import { loadDatasetFor } from '../../eval/model-evaluation.js';
import { writeFileAtomic } from '../../io/atomic-file.js';
import { checkNoForeignModelFiles } from '../../io/foreign-model-files.js';
import { type ModelOutput, modelOutputLayout } from '../../io/model-output.js';
import { locateModel } from '../../io/open-model.js';
import { withOutputFolderLock } from '../../io/output-folder-lock.js';
import { checkOutputFolder, modelInputFiles } from '../../io/output-guard.js';
import { cleanOutputFolder, publishedNames, stageOutputSet } from '../../io/output-set.js';
import { shardIndexName } from '../../io/sharded-writer.js';
import { loadModel } from '../../model/load-model.js';
import { alignmentOptions, memoryOption, recordedAlignmentOptions } from '../alignment-options.js';
import { describeSpaces } from '../alignment-report.js';
import type { CommandIO, ParsedArgs } from '../command.js';
import { choiceOption, requiredString } from '../command.js';
import { alignWithCostProducts, type CostProductSource } from '../cost-product-source.js';
import { ALIGNMENT_OBJECTIVE, HIGHER_IS_BETTER } from '../directions.js';
import { modelLoadOptions } from '../model-options.js';
import { optionalInputs } from '../run-inputs.js';
import { maxShardBytes, maxShardSizeOption } from '../shard-size-option.js';
import { MATCH_CHOICES, statisticsArgs } from '../statistics-options.js';

/** The aligned target's name: `aligned.safetensors`, or `aligned-0000k-of-0000n.safetensors` shards and an index. */
const ALIGNED_STEM = 'aligned';
const MAPS_FILE = 'maps.json';
/**
 * What `mal align` may write into its --out folder, published as one set (src/io/output-set.ts); the shards'
 * names are known only once the base is loaded, and are checked then.
 */
const ALIGN_OUTPUT_FILES = [`${ALIGNED_STEM}.safetensors`, shardIndexName(ALIGNED_STEM), MAPS_FILE] as const;

/** `products`: where weight matching's cost-matrix products run (default: here); the full program's `--nats`. */
export async function runAlign(
  args: ParsedArgs,
  io: CommandIO,
  products?: CostProductSource,
): Promise<number> {
  const outDir = requiredString(args, 'out');
  const options = alignmentOptions(args);
  const json = args.flags.has('json');
  const match = choiceOption(args, 'match', MATCH_CHOICES) ?? 'weights';
  const memoryBytes = memoryOption(args, match);
  const statistics = statisticsArgs(args, match === 'activations', '--match activations');
  const shardSize = maxShardSizeOption(args);
  // Before any work: the folder must be able to take the outputs without replacing an input.
  const inputs = [
    ...(await modelInputFiles(args.positionals[0], 'the base model')),
    ...(await modelInputFiles(args.positionals[1], 'the target model')),
    ...optionalInputs(args, { 'base-spec': '--base-spec', 'target-spec': '--target-spec' }),
  ];
  await checkOutputFolder(outDir, ALIGN_OUTPUT_FILES, inputs);
  // One writer per folder from the cleaning to the publication; a second run into it fails here, before any work.
  return withOutputFolderLock(outDir, async () => {
    await cleanOutputFolder(outDir);
    // A sharded base gives a sharded aligned target, as Hugging Face would save it.
    const sharded = shardSize !== undefined || (await locateModel(args.positionals[0])).kind === 'sharded';
    const base = await loadModel(args.positionals[0], modelLoadOptions(args, 'base-'));
    try {
      const target = await loadModel(args.positionals[1], modelLoadOptions(args, 'target-'));
      try {
        // The pairs alignModels plans too: known before aligning, so the shards are named and checked first.
        const plan = planAlignment(base, target);
        const outputIn = (folder: string): ModelOutput =>
          sharded
            ? { kind: 'folder', folder, stem: ALIGNED_STEM, maxShardBytes: maxShardBytes(args) }
            : { kind: 'file', path: join(folder, `${ALIGNED_STEM}.safetensors`) };
        const layout = modelOutputLayout(outputIn(outDir), alignedTensorEntries(base, plan));
        const outputNames = [...layout.names, MAPS_FILE];
        await checkOutputFolder(outDir, outputNames, inputs);
        await checkNoForeignModelFiles(outDir, ALIGNED_STEM, outputNames);
        // Only the maps are kept: the tensors the alignment loaded are dropped before the aligned target is written.
        const aligned: AlignModelsResult & Partial<StreamedAlignment> =
          statistics === undefined
            ? await alignWithCostProducts(products, base, target, io, { ...options, memoryBytes }, json)
            : await (async () => {
                await initBackend(statistics.backend);
                const data = await loadDatasetFor(base.spec, statistics.data, {
                  dataDir: statistics.dataDir,
                  limit: statistics.examples,
                });
                io.progress(`measuring activations of both models on ${data.count} examples of ${data.name}`);
                return alignModelsByActivations(base, target, { data });
              })();
        const { result, unpaired } = aligned;
        const alignedPath = join(outDir, layout.entry);
        const shardPaths = layout.sharded ? layout.names.slice(0, -1).map((n) => join(outDir, n)) : [];
        const mapsPath = join(outDir, MAPS_FILE);
        const set = await stageOutputSet(outDir);
        try {
          await writeAlignedTarget(base, target, plan, result.maps, options.kernel, outputIn(set.folder), {
            format: 'pt',
            'mal.kind': 'aligned',
            'mal.base': base.path,
            'mal.target': target.path,
          });
          const doc: MapsDocument = {
            version: MAPS_FORMAT_VERSION,
            base: base.path,
            target: target.path,
            objective: result.objective,
            initialObjective: result.initialObjective,
            sweeps: result.sweeps,
            converged: result.converged,
            options:
              statistics === undefined
                ? recordedAlignmentOptions(options)
                : { match, data: statistics.data, examples: statistics.examples, kernel: options.kernel },
            spaces: spaceMapsToDocument(result.maps.values()),
            iterations: result.steps,
          };
          await writeFileAtomic(set.path(MAPS_FILE), `${JSON.stringify(doc, null, 2)}\n`);
          await set.publish(outputNames, await publishedNames(outDir));
        } catch (error) {
          await set.discard();
          throw error;
        }
        if (json) {
          io.out(
            JSON.stringify({
              maps: mapsPath,
              aligned: alignedPath,
              shards: shardPaths,
              objective: result.objective,
              initialObjective: result.initialObjective,
              sweeps: result.sweeps,
              converged: result.converged,
              match,
              directions: { objective: ALIGNMENT_OBJECTIVE },
              tensors: plan.pairs.length,
              ...(aligned.memory === undefined
                ? {}
                : {
                    memory: {
                      workingBytes: aligned.memory.workingBytes,
                      widestSpace: aligned.memory.largestStep.space,
                      cacheBytes: aligned.cacheBytes,
                      tensorReads: aligned.reads,
                    },
                  }),
              unpaired,
              spaces: Object.fromEntries(
                [...result.maps.values()].map((m) => [
                  m.baseSpace,
                  { kind: m.kind, baseWidth: m.baseWidth, targetWidth: m.targetWidth },
                ]),
              ),
            }),
          );
        } else {
          io.out(
            `aligned ${target.path} (${target.spec.family}) into the frame of ${base.path} (${base.spec.family})`,
          );
          for (const line of describeSpaces(result.maps.values())) io.out(`  ${line}`);
          io.out(
            statistics === undefined
              ? `  objective ${result.initialObjective.toPrecision(6)} → ${result.objective.toPrecision(6)} ${HIGHER_IS_BETTER} in ${result.sweeps} sweep(s)${result.converged ? '' : ' (not converged: raise --max-sweeps)'}`
              : `  activation matching on ${statistics.examples} examples of ${statistics.data}: summed correlation of matched units ${result.initialObjective.toPrecision(6)} (identity) → ${result.objective.toPrecision(6)} ${HIGHER_IS_BETTER}`,
          );
          io.out(
            `  ${plan.pairs.length} tensors mapped${unpaired.length > 0 ? `, ${unpaired.length} base tensors have no partner: ${unpaired.join(', ')}` : ''}`,
          );
          io.out(`wrote ${mapsPath}`);
          io.out(
            shardPaths.length === 0
              ? `wrote ${alignedPath}`
              : `wrote ${alignedPath} and its ${shardPaths.length} shards ${layout.names[0]} … ${layout.names[shardPaths.length - 1]}`,
          );
        }
        return 0;
      } finally {
        await target.source.close();
      }
    } finally {
      await base.source.close();
    }
  });
}
