import { IncompatibleModelsError } from '../errors.js';
import type { AxisPart, AxisSpec } from '../spec/architecture-spec.js';
import { mapInside, type SpaceMaps } from './space-map.js';

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
    const targetPart = targetAxis[p];
    const { map, targetWidth } = spaceMap;
    for (let u = 0; u < map.length; u++) {
      const t = map[u];
      const o = baseOffset + u * block;
      if (t < 0) {
        out.fill(-1, o, o + block);
      } else if (part.inner === undefined && targetPart.inner === undefined) {
        const src = targetOffset + t * block;
        for (let r = 0; r < block; r++) out[o + r] = src + r;
      } else {
        const inside = innerIndex(part, targetPart, u, maps, where);
        const src = targetOffset + t * targetPart.block;
        for (let r = 0; r < block; r++) out[o + r] = inside[r] < 0 ? -1 : src + inside[r];
      }
    }
    baseOffset += map.length * block;
    targetOffset += targetWidth * targetPart.block;
  });
  if (baseOffset !== baseLength || targetOffset !== targetLength) {
    throw new IncompatibleModelsError(
      `${where}: axis parts span ${baseOffset} (base) and ${targetOffset} (target) entries but the tensors have ${baseLength} and ${targetLength}`,
    );
  }
  return out;
}

/**
 * Inside one block: entry `r` of base unit `u`'s block → the entry of the target unit's block that lands there,
 * or -1. Each inner level is read through its nested space's map for `u` (a level without a space keeps its
 * order); offsets are mixed-radix over the level sizes of each side, outer level first.
 */
export function innerIndex(
  basePart: AxisPart,
  targetPart: AxisPart,
  unit: number,
  maps: SpaceMaps,
  where: string,
): Int32Array {
  const baseLevels = basePart.inner ?? [{ size: basePart.block }];
  const targetLevels = targetPart.inner ?? [{ size: targetPart.block }];
  if (baseLevels.length !== targetLevels.length) {
    throw new IncompatibleModelsError(
      `${where}: blocks of '${basePart.space}' have ${baseLevels.length} inner levels in the base and ${targetLevels.length} in the target`,
    );
  }
  // Per level: base index → target index (or -1).
  const levelMaps = baseLevels.map((level, l) => {
    if (level.space === undefined) {
      const out = new Int32Array(level.size);
      for (let i = 0; i < level.size; i++) out[i] = i < targetLevels[l].size ? i : -1;
      return out;
    }
    const nested = maps.get(level.space);
    if (nested === undefined)
      throw new IncompatibleModelsError(`${where}: no map for space '${level.space}'`);
    return mapInside(nested, unit);
  });
  let index = new Int32Array([0]);
  baseLevels.forEach((level, l) => {
    const size = targetLevels[l].size;
    const next = new Int32Array(index.length * level.size);
    for (let a = 0; a < index.length; a++) {
      for (let i = 0; i < level.size; i++) {
        const t = levelMaps[l][i];
        next[a * level.size + i] = index[a] < 0 || t < 0 ? -1 : index[a] * size + t;
      }
    }
    index = next;
  });
  return index;
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
