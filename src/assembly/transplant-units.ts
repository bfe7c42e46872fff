import type { ArchitectureSpec, LayerSpec } from '../spec/architecture-spec.js';

/**
 * What a transplant moves: a layer that maps one space to another (dense or convolution) together with the
 * normalization layers that follow it on its output space (a convolution's BatchNorm), since those scale the
 * same units and must move with them.
 */
export interface TransplantUnit {
  /** The main layer's name; the unit is known by it. */
  readonly name: string;
  readonly kind: 'dense' | 'conv';
  readonly layers: readonly LayerSpec[];
  /** Every mergeable tensor of the unit, in layer order. */
  readonly tensors: readonly string[];
}

export function transplantUnits(spec: ArchitectureSpec): TransplantUnit[] {
  const mergeable = new Set(spec.tensors.filter((t) => t.merge).map((t) => t.name));
  const units: TransplantUnit[] = [];
  let current: { layer: LayerSpec; norms: LayerSpec[] } | undefined;
  const flush = (): void => {
    if (current === undefined) return;
    const layers = [current.layer, ...current.norms];
    units.push({
      name: current.layer.name,
      kind: current.layer.kind as 'dense' | 'conv',
      layers,
      tensors: layers.flatMap((l) => l.tensors.filter((t) => mergeable.has(t))),
    });
    current = undefined;
  };
  for (const layer of spec.layers) {
    if (layer.kind === 'dense' || layer.kind === 'conv') {
      flush();
      current = { layer, norms: [] };
    } else if (
      current !== undefined &&
      (layer.kind === 'batchnorm' || layer.kind === 'norm') &&
      layer.input === current.layer.output
    ) {
      current.norms.push(layer);
    } else {
      flush();
    }
  }
  flush();
  return units;
}

/**
 * Pairs the tensors of two units by their parameter role (the name after the module prefix: `weight`, `bias`,
 * `running_mean`, …), layer by layer. Returns undefined when the units do not have the same structure.
 */
export function pairUnitTensors(
  base: TransplantUnit,
  target: TransplantUnit,
): [baseTensor: string, targetTensor: string][] | undefined {
  if (base.kind !== target.kind || base.layers.length !== target.layers.length) return undefined;
  const pairs: [string, string][] = [];
  for (let i = 0; i < base.layers.length; i++) {
    const b = roleMap(base.layers[i], base.tensors);
    const t = roleMap(target.layers[i], target.tensors);
    if (b.size !== t.size) return undefined;
    for (const [role, name] of b) {
      const other = t.get(role);
      if (other === undefined) return undefined;
      pairs.push([name, other]);
    }
  }
  return pairs;
}

function roleMap(layer: LayerSpec, mergeable: readonly string[]): Map<string, string> {
  const keep = new Set(mergeable);
  const out = new Map<string, string>();
  for (const tensor of layer.tensors) {
    if (!keep.has(tensor)) continue;
    const role = tensor.startsWith(`${layer.name}.`) ? tensor.slice(layer.name.length + 1) : tensor;
    out.set(role, tensor);
  }
  return out;
}
