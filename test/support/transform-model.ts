/**
 * Whole-model transforms for property tests, built on the project's own mapping primitive: permute free spaces,
 * zero-pad them with dead units, or do both. The reference forward passes (written independently) then say
 * whether the function survived.
 */
import { mapTargetTensor } from '../../src/align/apply-maps.js';
import { identityWithTruncation, type SpaceMap } from '../../src/align/space-map.js';
import type { SeededRandom } from '../../src/random/seeded-random.js';
import type { ArchitectureSpec } from '../../src/spec/architecture-spec.js';
import { deriveSpec } from '../../src/spec/derive-spec.js';
import { computeSpaceWidths } from '../../src/spec/space-widths.js';
import type { FloatTensor } from '../../src/tensor/tensor.js';

export type TensorMap = Map<string, FloatTensor>;

export function specOf(tensors: TensorMap, config: Readonly<Record<string, unknown>>): ArchitectureSpec {
  return deriveSpec(
    [...tensors].map(([name, t]) => ({ name, dtype: 'F32' as const, shape: t.shape })),
    { config },
  );
}

export function widthsOf(spec: ArchitectureSpec, tensors: TensorMap): Map<string, number> {
  return computeSpaceWidths(spec, new Map([...tensors].map(([n, t]) => [n, t.shape])));
}

/**
 * Maps a model into a frame of `newWidths` (spaces not listed keep their width): base unit `i` of space `s`
 * takes unit `maps[s][i]` of the given model, or is a dead unit (all zeros) where that is -1.
 */
export function transformModel(
  spec: ArchitectureSpec,
  tensors: TensorMap,
  unitMaps: ReadonlyMap<string, Int32Array>,
): TensorMap {
  const widths = widthsOf(spec, tensors);
  const maps = new Map<string, SpaceMap>();
  for (const space of spec.spaces) {
    const width = widths.get(space.name)!;
    const map = unitMaps.get(space.name) ?? identityWithTruncation(width, width);
    maps.set(space.name, {
      baseSpace: space.name,
      targetSpace: space.name,
      kind: space.kind,
      baseWidth: map.length,
      targetWidth: width,
      map,
    });
  }
  const out: TensorMap = new Map();
  for (const t of spec.tensors) {
    const tensor = tensors.get(t.name)!;
    if (!t.merge) {
      out.set(t.name, tensor);
      continue;
    }
    const baseShape = t.axes.map((axis, k) =>
      axis === null ? tensor.shape[k] : axis.reduce((n, p) => n + maps.get(p.space)!.baseWidth * p.block, 0),
    );
    const mapped = mapTargetTensor(
      { targetName: t.name, target: tensor, baseAxes: t.axes, targetAxes: t.axes, baseShape },
      maps,
      'incompatible',
    );
    out.set(t.name, { shape: mapped.shape, data: mapped.data });
  }
  return out;
}

/** A random permutation for every free space. */
export function randomFreePermutations(
  spec: ArchitectureSpec,
  tensors: TensorMap,
  random: SeededRandom,
): Map<string, Int32Array> {
  const widths = widthsOf(spec, tensors);
  const perms = new Map<string, Int32Array>();
  for (const space of spec.spaces) {
    if (space.kind === 'free') perms.set(space.name, random.permutation(widths.get(space.name)!));
  }
  return perms;
}

/** Identity over the first `width` units followed by `extra` dead units, for each listed space. */
export function paddingMaps(
  spec: ArchitectureSpec,
  tensors: TensorMap,
  extra: (space: string) => number,
): Map<string, Int32Array> {
  const widths = widthsOf(spec, tensors);
  const maps = new Map<string, Int32Array>();
  for (const space of spec.spaces) {
    const add = extra(space.name);
    if (add > 0) {
      const width = widths.get(space.name)!;
      maps.set(space.name, identityWithTruncation(width + add, width));
    }
  }
  return maps;
}

export function inversePermutation(p: Int32Array): Int32Array {
  const inv = new Int32Array(p.length);
  for (let i = 0; i < p.length; i++) inv[p[i]] = i;
  return inv;
}
