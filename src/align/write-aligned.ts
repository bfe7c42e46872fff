import { writeSafetensors } from '../io/safetensors-writer.js';
import type { LoadedModel } from '../model/load-model.js';
import { fromFloat32 } from '../tensor/float-conversion.js';
import type { AlignmentProblem } from './alignment-problem.js';
import { mapTargetTensor } from './apply-maps.js';
import type { KernelPolicy } from './axis-index.js';
import type { SpaceMaps } from './space-map.js';

/** Writes every paired target tensor mapped into the base's frame, under the base's names, shapes and dtypes. */
export async function writeAlignedTarget(
  base: LoadedModel,
  problem: AlignmentProblem,
  maps: SpaceMaps,
  kernel: KernelPolicy,
  outPath: string,
  metadata: Readonly<Record<string, string>>,
): Promise<void> {
  const pairs = new Map(problem.pairs.map((p) => [p.baseName, p]));
  const entries = problem.pairs.map((p) => ({
    name: p.baseName,
    dtype: base.source.info(p.baseName).dtype,
    shape: p.base.shape,
  }));
  await writeSafetensors(
    outPath,
    entries,
    async (name) => {
      const pair = pairs.get(name)!;
      const mapped = mapTargetTensor({ ...pair, baseShape: pair.base.shape }, maps, kernel);
      return fromFloat32(mapped.data, base.source.info(name).dtype, pair.base.shape).bytes;
    },
    metadata,
  );
}
