import { IncompatibleModelsError } from '../errors.js';
import type { AxisSpec } from '../spec/architecture-spec.js';
import type { SpaceMaps } from './space-map.js';

/** What to do with a spatial axis (convolution kernel) whose size differs between base and target. */
export type KernelPolicy = 'incompatible' | 'centre';

/**
 * The index array that reads one target axis into the base's frame: entry `i` is the target index that lands
 * on base index `i`, or -1. A part of `block` entries per unit maps unit `u` to unit `map[u]`, keeping the order
 * inside the block (a head's dims, a channel's pixels).
 */
export function axisIndex(
  baseAxis: AxisSpec,
  targetAxis: AxisSpec,
  baseLength: number,
  targetLength: number,
  maps: SpaceMaps,
  kernel: KernelPolicy,
  where: string,
): Int32Array {
  if (baseAxis === null || targetAxis === null) return spatialIndex(baseLength, targetLength, kernel, where);
  const out = new Int32Array(baseLength);
  let baseOffset = 0;
  let targetOffset = 0;
  baseAxis.forEach((part, p) => {
    const spaceMap = maps.get(part.space);
    if (spaceMap === undefined)
      throw new IncompatibleModelsError(`${where}: no map for space '${part.space}'`);
    const block = part.block;
    const { map, targetWidth } = spaceMap;
    for (let u = 0; u < map.length; u++) {
      const t = map[u];
      const o = baseOffset + u * block;
      if (t < 0) {
        out.fill(-1, o, o + block);
      } else {
        const src = targetOffset + t * block;
        for (let r = 0; r < block; r++) out[o + r] = src + r;
      }
    }
    baseOffset += map.length * block;
    targetOffset += targetWidth * targetAxis[p].block;
  });
  if (baseOffset !== baseLength || targetOffset !== targetLength) {
    throw new IncompatibleModelsError(
      `${where}: axis parts span ${baseOffset} (base) and ${targetOffset} (target) entries but the tensors have ${baseLength} and ${targetLength}`,
    );
  }
  return out;
}

/** Equal sizes map straight through; otherwise the smaller kernel sits in the centre of the larger one. */
function spatialIndex(
  baseLength: number,
  targetLength: number,
  kernel: KernelPolicy,
  where: string,
): Int32Array {
  if (baseLength !== targetLength && kernel === 'incompatible') {
    throw new IncompatibleModelsError(
      `${where}: kernel size ${targetLength} (target) differs from ${baseLength} (base); pass --kernel centre to centre-pad or centre-crop`,
    );
  }
  const shift = Math.floor((targetLength - baseLength) / 2);
  const out = new Int32Array(baseLength);
  for (let i = 0; i < baseLength; i++) {
    const j = i + shift;
    out[i] = j >= 0 && j < targetLength ? j : -1;
  }
  return out;
}

/** Index arrays for every axis of a target tensor mapped into the base's frame. */
export function tensorIndices(
  baseAxes: readonly AxisSpec[],
  targetAxes: readonly AxisSpec[],
  baseShape: readonly number[],
  targetShape: readonly number[],
  maps: SpaceMaps,
  kernel: KernelPolicy,
  where: string,
): Int32Array[] {
  return baseAxes.map((axis, k) =>
    axisIndex(axis, targetAxes[k], baseShape[k], targetShape[k], maps, kernel, `${where} axis ${k}`),
  );
}
