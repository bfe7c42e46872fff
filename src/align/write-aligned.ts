import { type ModelOutput, type ModelOutputLayout, writeModelOutput } from '../io/model-output.js';
import type { TensorEntry } from '../io/safetensors-writer.js';
import type { LoadedModel } from '../model/load-model.js';
import { readFiniteFloatTensor } from '../model/load-model.js';
import { fromFloat32 } from '../tensor/float-conversion.js';
import type { AlignmentPlan } from './alignment-problem.js';
import { mapTargetTensor } from './apply-maps.js';
import type { KernelPolicy } from './axis-index.js';
import type { SpaceMaps } from './space-map.js';

/** What the aligned target holds: every paired base tensor's name, dtype and shape. */
export function alignedTensorEntries(base: LoadedModel, plan: AlignmentPlan): TensorEntry[] {
  return plan.pairs.map((p) => {
    const info = base.source.info(p.baseName);
    return { name: p.baseName, dtype: info.dtype, shape: info.shape };
  });
}

/**
 * Writes every paired target tensor mapped into the base's frame, under the base's names, shapes and dtypes.
 * Each target tensor is read when the writer asks for it and dropped once its bytes are written, and the base
 * gives only shapes, so one tensor is in memory at a time whatever the model's size.
 */
export async function writeAlignedTarget(
  base: LoadedModel,
  target: LoadedModel,
  plan: AlignmentPlan,
  maps: SpaceMaps,
  kernel: KernelPolicy,
  output: ModelOutput,
  metadata: Readonly<Record<string, string>>,
): Promise<ModelOutputLayout> {
  const pairs = new Map(plan.pairs.map((p) => [p.baseName, p]));
  const written = output.kind === 'file' ? output.path : output.folder;
  return writeModelOutput(
    output,
    alignedTensorEntries(base, plan),
    async (name) => {
      const pair = pairs.get(name)!;
      const { dtype, shape } = base.source.info(name);
      const targetTensor = await readFiniteFloatTensor(target, pair.targetName);
      const mapped = mapTargetTensor({ ...pair, target: targetTensor, baseShape: shape }, maps, kernel);
      return fromFloat32(mapped.data, dtype, shape, { file: written, tensor: name }).bytes;
    },
    metadata,
  );
}
