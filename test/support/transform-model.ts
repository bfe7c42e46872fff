/**
 * Whole-model transforms for property tests, built on the project's own mapping primitive: permute free spaces,
 * zero-pad them with dead units, or do both. The reference forward passes (written independently) then say
 * whether the function survived.
 */
import { mapTargetTensor } from '../../src/align/apply-maps.js';
import { inverseMaps as inverseMapsOf, inversePermutation } from '../../src/align/inverse-maps.js';
import { initialMap, type SpaceMap } from '../../src/align/space-map.js';
import type { SeededRandom } from '../../src/random/seeded-random.js';
import type { ArchitectureSpec, AxisSpec, SpaceSpec } from '../../src/spec/architecture-spec.js';
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
  const newWidth = (name: string): number => unitMaps.get(name)?.length ?? widths.get(name)!;
  for (const space of spec.spaces) {
    const width = widths.get(space.name)!;
    // A nested space's map holds one map per unit of its parent (in the new frame).
    const parentWidth = space.parent === undefined ? 1 : newWidth(space.parent);
    const map = unitMaps.get(space.name) ?? initialMap(width, width, parentWidth);
    const baseWidth = map.length / parentWidth;
    const parent = space.parent === undefined ? undefined : { space: space.parent, baseWidth: parentWidth };
    maps.set(space.name, {
      baseSpace: space.name,
      targetSpace: space.name,
      kind: space.kind,
      baseWidth,
      targetWidth: width,
      ...(parent === undefined ? {} : { parent }),
      map,
    });
  }
  // Blocks whose nested spaces change width change size too.
  const newAxes = (axes: readonly AxisSpec[]): AxisSpec[] =>
    axes.map((axis) =>
      axis === null
        ? null
        : axis.map((part) => {
            if (part.inner === undefined) return part;
            const inner = part.inner.map((level) =>
              level.space === undefined ? level : { ...level, size: maps.get(level.space)!.baseWidth },
            );
            return { ...part, inner, block: inner.reduce((n, level) => n * level.size, 1) };
          }),
    );
  const out: TensorMap = new Map();
  for (const t of spec.tensors) {
    const tensor = tensors.get(t.name)!;
    if (!t.merge) {
      out.set(t.name, tensor);
      continue;
    }
    const baseAxes = newAxes(t.axes);
    const baseShape = baseAxes.map((axis, k) =>
      axis === null ? tensor.shape[k] : axis.reduce((n, p) => n + maps.get(p.space)!.baseWidth * p.block, 0),
    );
    const mapped = mapTargetTensor(
      { targetName: t.name, target: tensor, baseAxes, targetAxes: t.axes, baseShape },
      maps,
      'incompatible',
    );
    out.set(t.name, { shape: mapped.shape, data: mapped.data });
  }
  return out;
}

/**
 * A random permutation for every free space (for a nested space, one per unit of its parent, concatenated);
 * `only` limits it to the spaces it accepts.
 */
export function randomFreePermutations(
  spec: ArchitectureSpec,
  tensors: TensorMap,
  random: SeededRandom,
  only: (space: SpaceSpec) => boolean = () => true,
): Map<string, Int32Array> {
  const widths = widthsOf(spec, tensors);
  const perms = new Map<string, Int32Array>();
  for (const space of spec.spaces) {
    if (space.kind !== 'free' || !only(space)) continue;
    const width = widths.get(space.name)!;
    const copies = space.parent === undefined ? 1 : widths.get(space.parent)!;
    const map = new Int32Array(copies * width);
    for (let u = 0; u < copies; u++) map.set(random.permutation(width), u * width);
    perms.set(space.name, map);
  }
  return perms;
}

/** The maps that undo `perms` (src/align/inverse-maps.ts), with the spec's spaces. */
export function inverseMaps(
  spec: ArchitectureSpec,
  widths: ReadonlyMap<string, number>,
  perms: ReadonlyMap<string, Int32Array>,
): Map<string, Int32Array> {
  return inverseMapsOf(spec.spaces, widths, perms);
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
    const parentAdd = space.parent === undefined ? 0 : extra(space.parent);
    if (add > 0 || parentAdd > 0) {
      const width = widths.get(space.name)!;
      const copies = space.parent === undefined ? 1 : widths.get(space.parent)! + parentAdd;
      maps.set(space.name, initialMap(width + add, width, copies));
    }
  }
  return maps;
}

export { inversePermutation };
