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
