import { SpecError } from '../errors.js';
import type { ArchitectureSpec, AxisSpec, LayerSpec, SpaceSpec, TensorSpec } from './architecture-spec.js';

/** One place where a space appears: tensor `tensor`, axis `axis`, part `part` of that axis. */
export interface SpaceUse {
  readonly tensor: string;
  readonly axis: number;
  readonly part: number;
  /** Entries each unit of the space spans in this part. */
  readonly block: number;
}

export function findSpace(spec: ArchitectureSpec, name: string): SpaceSpec | undefined {
  return spec.spaces.find((space) => space.name === name);
}

export function getSpace(spec: ArchitectureSpec, name: string): SpaceSpec {
  const space = findSpace(spec, name);
  if (space === undefined) throw new SpecError(`the spec has no space '${name}'`);
  return space;
}

export function findTensorSpec(spec: ArchitectureSpec, name: string): TensorSpec | undefined {
  return spec.tensors.find((tensor) => tensor.name === name);
}

export function getTensorSpec(spec: ArchitectureSpec, name: string): TensorSpec {
  const tensor = findTensorSpec(spec, name);
  if (tensor === undefined) throw new SpecError(`the spec has no tensor '${name}'`);
  return tensor;
}

export function findLayer(spec: ArchitectureSpec, name: string): LayerSpec | undefined {
  return spec.layers.find((layer) => layer.name === name);
}

export function getLayer(spec: ArchitectureSpec, name: string): LayerSpec {
  const layer = findLayer(spec, name);
  if (layer === undefined) throw new SpecError(`the spec has no layer '${name}'`);
  return layer;
}

/** Every axis part that belongs to `space`, in tensor order, then axis order, then part order. */
export function tensorsTouchingSpace(spec: ArchitectureSpec, space: string): SpaceUse[] {
  const uses: SpaceUse[] = [];
  for (const tensor of spec.tensors) {
    tensor.axes.forEach((axis, axisIndex) => {
      axis?.forEach((part, partIndex) => {
        if (part.space === space)
          uses.push({ tensor: tensor.name, axis: axisIndex, part: partIndex, block: part.block });
      });
    });
  }
  return uses;
}

/** The layer a tensor belongs to, or undefined for a tensor no layer lists. */
export function layerOfTensor(spec: ArchitectureSpec, tensor: string): LayerSpec | undefined {
  return spec.layers.find((layer) => layer.tensors.includes(tensor));
}

/** The free spaces, in network order: the order coordinate descent visits them in by default. */
export function freeSpaces(spec: ArchitectureSpec): SpaceSpec[] {
  return spec.spaces.filter((space) => space.kind === 'free');
}

/** Spaces the layer's tensors touch, in the order they first appear. */
export function spacesOfLayer(spec: ArchitectureSpec, layer: LayerSpec): string[] {
  const spaces = new Set<string>();
  for (const name of layer.tensors) {
    for (const axis of getTensorSpec(spec, name).axes) {
      for (const part of axis ?? []) spaces.add(part.space);
    }
  }
  return [...spaces];
}

/** Offset of each part within its axis, given the space widths: where part `i` starts. */
export function partOffsets(axis: AxisSpec, widths: ReadonlyMap<string, number>): number[] {
  const offsets: number[] = [];
  let offset = 0;
  for (const part of axis ?? []) {
    offsets.push(offset);
    const width = widths.get(part.space);
    if (width === undefined) throw new SpecError(`width of space '${part.space}' is unknown`);
    offset += width * part.block;
  }
  return offsets;
}
