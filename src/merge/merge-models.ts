import type { AlignmentPlan } from '../align/alignment-problem.js';
import { withTensors } from '../align/alignment-problem.js';
import { mapTargetTensor } from '../align/apply-maps.js';
import type { KernelPolicy } from '../align/axis-index.js';
import type { SpaceMaps } from '../align/space-map.js';
import { InterpolationPath } from '../eval/interpolation-path.js';
import type { RegMeanSettings } from '../eval/regmean.js';
import type { RepairSettings } from '../eval/repair.js';
import { type ModelOutput, type ModelOutputLayout, writeModelOutput } from '../io/model-output.js';
import { compareForLayout, type TensorEntry } from '../io/safetensors-writer.js';
import type { LoadedModel } from '../model/load-model.js';
import { readFiniteFloatTensor, readFiniteFloatTensors } from '../model/load-model.js';
import { fromFloat32 } from '../tensor/float-conversion.js';
import type { FloatTensor } from '../tensor/tensor.js';
import { checkAncestorFits } from './ancestor.js';
import { type MergeMethodChoice, mergeTensorWith } from './merge-method-registry.js';

/** A method with its parameters, the merge factor λ (the method's weight of the target) and the run's seed. */
export interface MergeRun {
  readonly choice: MergeMethodChoice;
  readonly lambda: number;
  readonly seed: number;
}

export interface MergeModelsOptions {
  readonly method: MergeRun;
  /** The common ancestor that task-vector methods (task arithmetic, TIES, DARE) measure against. */
  readonly ancestor?: LoadedModel;
  readonly kernel: KernelPolicy;
  readonly metadata?: Readonly<Record<string, string>>;
  /** Called after each tensor is written, for progress. */
  readonly onTensor?: (name: string, done: number, total: number) => void;
  /**
   * REPAIR the merge on this data (see eval/repair.ts). The merged model is then built in memory first, since
   * each layer's correction is measured on the model corrected so far.
   */
  readonly repair?: RepairSettings;
  /** Solve the dense layers fed by merged layers by RegMean on this data (see eval/regmean.ts), in memory too. */
  readonly regmean?: RegMeanSettings;
}

export interface MergeSummary {
  readonly merged: readonly string[];
  readonly copied: readonly string[];
  /** Entries of merged tensors that no target unit landed on. */
  readonly unmatchedEntries: number;
  readonly totalEntries: number;
  /** The files written. */
  readonly layout: ModelOutputLayout;
}

/** What the merged model holds: every base tensor, under its name, dtype and shape. */
export function mergedTensorEntries(base: LoadedModel): TensorEntry[] {
  return base.source.tensorNames().map((name) => {
    const info = base.source.info(name);
    return { name, dtype: info.dtype, shape: info.shape };
  });
}

/**
 * Writes the merge of base and T(target) (by default MAL's `(1−λ)·base + λ·T(target)`) tensor by tensor, in the
 * base's names, shapes and dtypes (in the reference writer's order), so peak memory is a few tensors whatever the
 * model size. Tensors without a partner in the target, buffers, and dtypes the maths does not merge (FP8, C64, F4,
 * F6) are copied from the base byte for byte. The file, or every shard and the index, appears only when complete.
 */
export async function mergeModels(
  base: LoadedModel,
  target: LoadedModel,
  plan: AlignmentPlan,
  maps: SpaceMaps,
  output: ModelOutput,
  options: MergeModelsOptions,
): Promise<MergeSummary> {
  const outPath = output.kind === 'file' ? output.path : output.folder;
  const run = options.method;
  const pairing = new Map(plan.pairs.map((p) => [p.baseName, p]));
  if (options.ancestor !== undefined)
    checkAncestorFits(base, options.ancestor, pairing.keys(), `ancestor ${options.ancestor.path}`);
  const entries = mergedTensorEntries(base);
  const names = entries.map((e) => e.name);
  const merged: string[] = [];
  const copied: string[] = [];
  let unmatchedEntries = 0;
  let totalEntries = 0;
  let done = 0;
  const inMemory =
    options.repair === undefined && options.regmean === undefined
      ? undefined
      : await mergedInMemory(base, target, plan, maps, options);
  // A method's per-tensor randomness (DARE) is keyed by the tensor's place in the one-file layout, so that shards
  // (written in another order) hold the same merge as one file.
  const tensorIndex = new Map([...entries].sort(compareForLayout).map((e, i) => [e.name, i]));

  const layout = await writeModelOutput(
    output,
    entries,
    async (name) => {
      const pair = pairing.get(name);
      let bytes: Uint8Array;
      const corrected = inMemory?.tensors.get(name);
      if (corrected !== undefined && (pair !== undefined || corrected !== inMemory?.base.get(name))) {
        bytes = fromFloat32(corrected.data, base.source.info(name).dtype, corrected.shape, {
          file: outPath,
          tensor: name,
        }).bytes;
        (pair === undefined ? copied : merged).push(name);
        if (pair !== undefined) totalEntries += corrected.data.length;
      } else if (pair === undefined) {
        bytes = (await base.source.read(name)).bytes;
        copied.push(name);
      } else {
        const baseTensor = await readFiniteFloatTensor(base, name);
        const targetTensor = await readFiniteFloatTensor(target, pair.targetName);
        const mapped = mapTargetTensor(
          { ...pair, target: targetTensor, baseShape: baseTensor.shape },
          maps,
          options.kernel,
          true,
        );
        const ancestor =
          options.ancestor === undefined
            ? undefined
            : (await readFiniteFloatTensor(options.ancestor, name)).data;
        const out = mergeTensorWith(run.choice, {
          tensorName: name,
          tensorIndex: tensorIndex.get(name)!,
          base: baseTensor.data,
          mapped: mapped.data,
          matched: mapped.matched,
          ancestor,
          lambda: run.lambda,
          seed: run.seed,
        });
        for (const m of mapped.matched ?? []) if (m === 0) unmatchedEntries++;
        totalEntries += out.length;
        bytes = fromFloat32(out, base.source.info(name).dtype, baseTensor.shape, {
          file: outPath,
          tensor: name,
        }).bytes;
        merged.push(name);
      }
      options.onTensor?.(name, ++done, names.length);
      return bytes;
    },
    { ...base.source.metadata, ...options.metadata },
  );
  return { merged, copied, unmatchedEntries, totalEntries, layout };
}

/** The whole merged model at the run's λ, by RegMean and/or REPAIRed, with the base tensors it started from. */
async function mergedInMemory(
  base: LoadedModel,
  target: LoadedModel,
  plan: AlignmentPlan,
  maps: SpaceMaps,
  options: MergeModelsOptions,
): Promise<{ tensors: Map<string, FloatTensor>; base: Map<string, FloatTensor> }> {
  const baseTensors = await readFiniteFloatTensors(
    base,
    base.spec.tensors.filter((t) => t.merge).map((t) => t.name),
  );
  const targetTensors = await readFiniteFloatTensors(
    target,
    plan.pairs.map((p) => p.targetName),
  );
  const ancestor =
    options.ancestor === undefined
      ? undefined
      : await readFiniteFloatTensors(
          options.ancestor,
          plan.pairs.map((p) => p.baseName),
        );
  const path = new InterpolationPath(
    baseTensors,
    withTensors(plan, baseTensors, targetTensors),
    maps,
    options.kernel,
    {
      choice: options.method.choice,
      seed: options.method.seed,
      ...(ancestor === undefined ? {} : { ancestor }),
      ...(options.repair === undefined ? {} : { repair: options.repair }),
      ...(options.regmean === undefined ? {} : { regmean: options.regmean }),
    },
  );
  return { tensors: path.at(options.method.lambda), base: baseTensors };
}
