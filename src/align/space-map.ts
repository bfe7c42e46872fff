import type { SpaceKind } from '../spec/architecture-spec.js';

/**
 * The generalized permutation chosen for one base space: for every base unit, the target unit that lands on it,
 * or -1 when none does (base wider than target). At most one base unit per target unit; exactly
 * min(baseWidth, targetWidth) units are matched.
 */
export interface SpaceMap {
  readonly baseSpace: string;
  readonly targetSpace: string;
  readonly kind: SpaceKind;
  readonly baseWidth: number;
  readonly targetWidth: number;
  /**
   * For a nested space, the parent's base space and width: `map` then holds one generalized permutation per
   * base parent unit, `map[u·baseWidth + i]` being the unit of the target parent unit that lands on base parent
   * unit `u` which lands on unit `i` inside it.
   */
  readonly parent?: { readonly space: string; readonly baseWidth: number };
  readonly map: Int32Array;
}

/** Maps keyed by base space name, in network order. */
export type SpaceMaps = ReadonlyMap<string, SpaceMap>;

/** The starting point of alignment and the only map of a fixed space: unit i ↦ unit i, truncated to the narrower. */
export function identityWithTruncation(baseWidth: number, targetWidth: number): Int32Array {
  const map = new Int32Array(baseWidth);
  for (let i = 0; i < baseWidth; i++) map[i] = i < targetWidth ? i : -1;
  return map;
}

/** Identity-with-truncation inside every parent unit of a nested space (or once for a top-level space). */
export function initialMap(baseWidth: number, targetWidth: number, parentWidth = 1): Int32Array {
  const one = identityWithTruncation(baseWidth, targetWidth);
  const map = new Int32Array(parentWidth * baseWidth);
  for (let u = 0; u < parentWidth; u++) map.set(one, u * baseWidth);
  return map;
}

/** The starting map of a space pairing (identity-with-truncation, per parent unit for a nested space). */
export function identitySpaceMap(pairing: Omit<SpaceMap, 'map'>): SpaceMap {
  return {
    ...pairing,
    map: initialMap(pairing.baseWidth, pairing.targetWidth, pairing.parent?.baseWidth),
  };
}

/** The map inside base parent unit `u` of a nested space (the whole map of a top-level space). */
export function mapInside(spaceMap: SpaceMap, u: number): Int32Array {
  if (spaceMap.parent === undefined) return spaceMap.map;
  return spaceMap.map.subarray(u * spaceMap.baseWidth, (u + 1) * spaceMap.baseWidth);
}

/** Describes the first fault of a map, top-level or nested (checked per parent unit), or undefined. */
export function checkSpaceMap(
  spaceMap: Omit<SpaceMap, 'baseSpace' | 'targetSpace' | 'kind'>,
): string | undefined {
  const parentWidth = spaceMap.parent?.baseWidth ?? 1;
  if (spaceMap.map.length !== parentWidth * spaceMap.baseWidth)
    return `${spaceMap.map.length} entries, expected ${parentWidth * spaceMap.baseWidth}`;
  for (let u = 0; u < parentWidth; u++) {
    const inside = spaceMap.map.subarray(u * spaceMap.baseWidth, (u + 1) * spaceMap.baseWidth);
    const fault = checkGeneralizedPermutation(inside, spaceMap.targetWidth);
    if (fault !== undefined)
      return spaceMap.parent === undefined ? fault : `inside parent unit ${u}: ${fault}`;
  }
  return undefined;
}

/** Throws unless `map` is a generalized permutation of the stated widths; returns a description of the fault. */
export function checkGeneralizedPermutation(map: Int32Array, targetWidth: number): string | undefined {
  const seen = new Uint8Array(targetWidth);
  let matched = 0;
  for (let i = 0; i < map.length; i++) {
    const j = map[i];
    if (j === -1) continue;
    if (!Number.isInteger(j) || j < 0 || j >= targetWidth)
      return `unit ${i} maps to ${j}, outside 0..${targetWidth - 1}`;
    if (seen[j]) return `target unit ${j} is used twice`;
    seen[j] = 1;
    matched++;
  }
  const expected = Math.min(map.length, targetWidth);
  if (matched !== expected)
    return `${matched} units matched, expected min(${map.length}, ${targetWidth}) = ${expected}`;
  return undefined;
}
