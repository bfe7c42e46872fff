import { join } from 'node:path';
import { type AlignModelsResult, alignModels, alignModelsByActivations } from '../../align/align-models.js';
import { withTensors } from '../../align/alignment-problem.js';
import { readFiniteFloatTensors } from '../../model/load-model.js';
import { MAPS_FORMAT_VERSION, type MapsDocument, spaceMapsToDocument } from '../../align/maps-file.js';
import { writeAlignedTarget } from '../../align/write-aligned.js';
import { initBackend } from '../../compute/backend.js';
import { loadDatasetFor } from '../../eval/model-evaluation.js';
import { writeFileAtomic } from '../../io/atomic-file.js';
import { checkOutputFolder, modelInputFiles } from '../../io/output-guard.js';
import { cleanOutputFolder, stageOutputSet } from '../../io/output-set.js';
import { loadModel } from '../../model/load-model.js';
import { alignmentOptions, recordedAlignmentOptions } from '../alignment-options.js';
import { describeSpaces, stepReporter } from '../alignment-report.js';
import type { CommandIO, ParsedArgs } from '../command.js';
import { choiceOption, requiredString } from '../command.js';
import { ALIGNMENT_OBJECTIVE, HIGHER_IS_BETTER } from '../directions.js';
import { modelLoadOptions } from '../model-options.js';
import { optionalInputs } from '../run-inputs.js';
import { MATCH_CHOICES, statisticsArgs } from '../statistics-options.js';

/** What `mal align` writes into its --out folder, published as one set (src/io/output-set.ts). */
const ALIGN_OUTPUT_FILES = ['aligned.safetensors', 'maps.json'] as const;

export async function runAlign(args: ParsedArgs, io: CommandIO): Promise<number> {
  const outDir = requiredString(args, 'out');
  const options = alignmentOptions(args);
  const json = args.flags.has('json');
  const match = choiceOption(args, 'match', MATCH_CHOICES) ?? 'weights';
  const statistics = statisticsArgs(args, match === 'activations', '--match activations');
  // Before any work: the folder must be able to take the outputs without replacing an input.
  const inputs = [
    ...(await modelInputFiles(args.positionals[0], 'the base model')),
    ...(await modelInputFiles(args.positionals[1], 'the target model')),
    ...optionalInputs(args, { 'base-spec': '--base-spec', 'target-spec': '--target-spec' }),
  ];
  await checkOutputFolder(outDir, ALIGN_OUTPUT_FILES, inputs);
  await cleanOutputFolder(outDir);
  const base = await loadModel(args.positionals[0], modelLoadOptions(args, 'base-'));
  try {
    const target = await loadModel(args.positionals[1], modelLoadOptions(args, 'target-'));
    try {
      let aligned: AlignModelsResult;
      if (statistics === undefined) {
        aligned = await alignModels(base, target, {
          ...options,
          onStep: json ? undefined : stepReporter(io),
        });
      } else {
        await initBackend(statistics.backend);
        const data = await loadDatasetFor(base.spec, statistics.data, {
          dataDir: statistics.dataDir,
          limit: statistics.examples,
        });
        io.progress(`measuring activations of both models on ${data.count} examples of ${data.name}`);
        aligned = await alignModelsByActivations(base, target, { data });
      }
      const { plan, result, unpaired } = aligned;
      const problem = withTensors(
        plan,
        await readFiniteFloatTensors(base, plan.pairs.map((p) => p.baseName)),
        await readFiniteFloatTensors(target, plan.pairs.map((p) => p.targetName)),
      );
      const alignedPath = join(outDir, 'aligned.safetensors');
      const mapsPath = join(outDir, 'maps.json');
      const set = await stageOutputSet(outDir);
      try {
        await writeAlignedTarget(
          base,
          problem,
          result.maps,
          options.kernel,
          set.path('aligned.safetensors'),
          {
            format: 'pt',
            'mal.kind': 'aligned',
            'mal.base': base.path,
            'mal.target': target.path,
          },
        );
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
        await writeFileAtomic(set.path('maps.json'), `${JSON.stringify(doc, null, 2)}\n`);
        await set.publish(ALIGN_OUTPUT_FILES);
      } catch (error) {
        await set.discard();
        throw error;
      }
      if (json) {
        io.out(
          JSON.stringify({
            maps: mapsPath,
            aligned: alignedPath,
            objective: result.objective,
            initialObjective: result.initialObjective,
            sweeps: result.sweeps,
            converged: result.converged,
            match,
            directions: { objective: ALIGNMENT_OBJECTIVE },
            tensors: problem.pairs.length,
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
          `  ${problem.pairs.length} tensors mapped${unpaired.length > 0 ? `, ${unpaired.length} base tensors have no partner: ${unpaired.join(', ')}` : ''}`,
        );
        io.out(`wrote ${mapsPath}`);
        io.out(`wrote ${alignedPath}`);
      }
      return 0;
    } finally {
      await target.source.close();
    }
  } finally {
    await base.source.close();
  }
}
