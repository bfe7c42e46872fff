import type { SpaceSpec } from '../spec/architecture-spec.js';

export function inversePermutation(p: Int32Array): Int32Array {
  const inv = new Int32Array(p.length);
  for (let i = 0; i < p.length; i++) inv[p[i]] = i;
  return inv;
}

/**
 * The maps that undo `perms` (as weight matching should find them aligning a permuted copy to its original): a
 * top-level space's inverse; a nested space's map inside base unit `u` is the inverse of the permutation inside
 * the permuted parent unit that returns to `u`. `perms` holds, for a nested space, one permutation per parent
 * unit, concatenated.
 */
export function inverseMaps(
  spaces: readonly Pick<SpaceSpec, 'name' | 'parent'>[],
  widths: ReadonlyMap<string, number>,
  perms: ReadonlyMap<string, Int32Array>,
): Map<string, Int32Array> {
  const parents = new Map(spaces.map((s) => [s.name, s.parent]));
  const out = new Map<string, Int32Array>();
  for (const [name, perm] of perms) {
    const parent = parents.get(name);
    if (parent === undefined) {
      out.set(name, inversePermutation(perm));
      continue;
    }
    const parentPerm = perms.get(parent);
    const width = widths.get(name)!;
    const copies = perm.length / width;
    const parentInverse = parentPerm === undefined ? undefined : inversePermutation(parentPerm);
    const map = new Int32Array(perm.length);
    for (let u = 0; u < copies; u++) {
      const t = parentInverse === undefined ? u : parentInverse[u];
      map.set(inversePermutation(perm.subarray(t * width, (t + 1) * width)), u * width);
    }
    out.set(name, map);
  }
  return out;
}
