import type { TensorInfo } from '../../src/io/tensor-source.js';
import type { ArchitectureSpec } from '../../src/spec/architecture-spec.js';
import { computeSpaceWidths } from '../../src/spec/space-widths.js';

/** Tensor infos from a hand-written [name, shape] list, as a safetensors header would give them. */
export function tensorInfos(list: readonly (readonly [string, readonly number[]])[]): TensorInfo[] {
  return list.map(([name, shape]) => ({ name, dtype: 'F32', shape }));
}

export function shapesOf(tensors: readonly TensorInfo[]): Map<string, readonly number[]> {
  return new Map(tensors.map((tensor) => [tensor.name, tensor.shape]));
}

/** A tensor's axes written the way a spec file writes them, so assertions read like the spec. */
export function axesOf(spec: ArchitectureSpec, tensor: string): (string | null)[] {
  const found = spec.tensors.find((candidate) => candidate.name === tensor);
  if (found === undefined) throw new Error(`no tensor ${tensor} in spec`);
  return found.axes.map((axis) =>
    axis === null
      ? null
      : axis
          .map((part) => {
            if (part.inner !== undefined) {
              const levels = part.inner.map((l) =>
                l.space === undefined ? `${l.size}` : `${l.space}:${l.size}`,
              );
              return `${part.space}[${levels.join(',')}]`;
            }
            return part.block === 1 ? part.space : `${part.space}*${part.block}`;
          })
          .join(' | '),
  );
}

export function widthsOf(spec: ArchitectureSpec, tensors: readonly TensorInfo[]): Record<string, number> {
  return Object.fromEntries(computeSpaceWidths(spec, shapesOf(tensors)));
}

export function spaceSummary(spec: ArchitectureSpec): string[] {
  return spec.spaces.map((space) => `${space.name}:${space.kind}`);
}
