import type { TensorPair } from './alignment-problem.js';
import type { KernelPolicy } from './axis-index.js';
import { tensorIndices } from './axis-index.js';
import { type GatherResult, gatherTensor } from './gather-tensor.js';
import type { SpaceMaps } from './space-map.js';

/**
 * `T(W)`: the target tensor of a pair mapped into the base's frame (`P_out · W · P_inᵀ` for a dense weight, the
 * same per axis for any rank). Entries no target unit lands on are zero, and `matched` marks the others.
 */
export function mapTargetTensor(
  pair: Pick<TensorPair, 'targetName' | 'target' | 'baseAxes' | 'targetAxes'> & {
    baseShape: readonly number[];
  },
  maps: SpaceMaps,
  kernel: KernelPolicy,
  withMask = false,
): GatherResult {
  const indices = tensorIndices(
    pair.baseAxes,
    pair.targetAxes,
    pair.baseShape,
    pair.target.shape,
    maps,
    kernel,
    `tensor '${pair.targetName}'`,
  );
  return gatherTensor(pair.target.data, pair.target.shape, indices, { withMask });
}
