import { IncompatibleModelsError } from '../errors.js';
import type { TensorSource } from '../io/tensor-source.js';

/**
 * A common ancestor must hold every named base tensor with the base's shape: task vectors are differences taken
 * entry by entry. Reads headers only. `label` names the ancestor in the message (`--ancestor x`, `merge.ancestor`).
 */
export function checkAncestorFits(
  base: { readonly source: TensorSource },
  ancestor: { readonly source: TensorSource },
  names: Iterable<string>,
  label: string,
): void {
  const held = new Set(ancestor.source.tensorNames());
  for (const name of names) {
    if (!held.has(name)) throw new IncompatibleModelsError(`${label} has no tensor '${name}' of the base`);
    const want = base.source.info(name).shape;
    const got = ancestor.source.info(name).shape;
    if (want.length !== got.length || want.some((d, i) => d !== got[i]))
      throw new IncompatibleModelsError(
        `${label}: tensor '${name}' has shape [${got.join(', ')}], the base's is [${want.join(', ')}]`,
      );
  }
}
