import type { TensorInfo } from '../io/tensor-source.js';
import { isMergeableDType } from '../tensor/dtype.js';
import type { ArchitectureSpec, TensorSpec } from './architecture-spec.js';

/**
 * Suffixes of the scale tensors that quantised checkpoints keep beside a weight `<module>.weight`:
 * compressed-tensors and FBGEMM FP8 (`weight_scale`, `input_scale`), DeepSeek-V3 and Qwen FP8 (block-wise
 * `weight_scale_inv`), NVIDIA ModelOpt FP4 (`weight_scale_2`).
 */
const SCALE_SUFFIXES = ['weight_scale', 'weight_scale_inv', 'weight_scale_2', 'input_scale'] as const;

/**
 * The scale tensors of weights the merge cannot compute in (FP8 and the other opaque dtypes), each with the
 * weight it belongs to. A scale only means something together with its weight's bytes, and those are copied from
 * the base, so the scale must be too; a name that looks like a scale beside a float weight is left to the family
 * deriver, which refuses what it cannot place.
 */
export function quantisationScales(tensors: readonly TensorInfo[]): Map<string, string> {
  const dtypeOf = new Map(tensors.map((t) => [t.name, t.dtype]));
  const scales = new Map<string, string>();
  for (const { name } of tensors) {
    for (const suffix of SCALE_SUFFIXES) {
      if (!name.endsWith(`.${suffix}`)) continue;
      const weight = `${name.slice(0, -suffix.length)}weight`;
      const dtype = dtypeOf.get(weight);
      if (dtype !== undefined && !isMergeableDType(dtype)) scales.set(name, weight);
    }
  }
  return scales;
}

/**
 * `spec` (derived without the scales) with each scale added as a tensor copied from the base (no space, never
 * merged) in its weight's layer, so a transplant moves weight and scale together; tensors in file order.
 */
export function withQuantisationScales(
  spec: ArchitectureSpec,
  tensors: readonly TensorInfo[],
  scales: ReadonlyMap<string, string>,
): ArchitectureSpec {
  if (scales.size === 0) return spec;
  const byName = new Map<string, TensorSpec>(spec.tensors.map((t) => [t.name, t]));
  for (const t of tensors) {
    if (scales.has(t.name)) byName.set(t.name, { name: t.name, axes: t.shape.map(() => null), merge: false });
  }
  const layers = spec.layers.map((layer) => {
    const added = [...scales].filter(([, weight]) => layer.tensors.includes(weight)).map(([scale]) => scale);
    return added.length === 0 ? layer : { ...layer, tensors: [...layer.tensors, ...added] };
  });
  return {
    ...spec,
    tensors: tensors.flatMap((t) => byName.get(t.name) ?? []),
    layers,
  };
}
