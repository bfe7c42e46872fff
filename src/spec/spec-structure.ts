import { SpecError } from '../errors.js';
import type { ArchitectureSpec, AxisPart } from './architecture-spec.js';

/**
 * Checks what a spec must satisfy on its own, before any tensor shape is looked at: names are unique, every
 * referenced space and tensor is declared, every block is a positive integer, and a tensor belongs to at most
 * one layer (a transplant moves whole layers, so a shared tensor would be moved twice).
 */
export function checkSpecStructure(spec: ArchitectureSpec): void {
  const spaceNames = new Set<string>();
  for (const space of spec.spaces) {
    if (space.name === '') throw new SpecError('a space has an empty name');
    if (spaceNames.has(space.name)) throw new SpecError(`space '${space.name}' is declared twice`);
    if (space.kind !== 'free' && space.kind !== 'fixed') {
      throw new SpecError(
        `space '${space.name}' has kind '${String(space.kind)}'; expected 'free' or 'fixed'`,
      );
    }
    spaceNames.add(space.name);
  }
  const parentOf = new Map(spec.spaces.map((space) => [space.name, space.parent]));
  for (const space of spec.spaces) {
    if (space.parent === undefined) continue;
    if (!spaceNames.has(space.parent)) {
      throw new SpecError(
        `space '${space.name}' is nested in '${space.parent}', which the spec does not declare`,
      );
    }
    if (parentOf.get(space.parent) !== undefined) {
      throw new SpecError(
        `space '${space.name}' is nested in '${space.parent}', which is itself nested; only one level of nesting is allowed`,
      );
    }
  }

  const tensorNames = new Set<string>();
  for (const tensor of spec.tensors) {
    if (tensorNames.has(tensor.name)) throw new SpecError(`tensor '${tensor.name}' is listed twice`);
    tensorNames.add(tensor.name);
    tensor.axes.forEach((axis, axisIndex) => {
      if (axis === null) return;
      if (axis.length === 0) {
        throw new SpecError(
          `tensor '${tensor.name}' axis ${axisIndex} has no parts; use null for an axis without a space`,
        );
      }
      axis.forEach((part, partIndex) => {
        const where = `tensor '${tensor.name}' axis ${axisIndex}${axis.length > 1 ? ` part ${partIndex}` : ''}`;
        if (!spaceNames.has(part.space)) {
          throw new SpecError(`${where} refers to space '${part.space}', which the spec does not declare`);
        }
        if (!Number.isInteger(part.block) || part.block < 1) {
          throw new SpecError(`${where} has block ${part.block}; a block must be a positive integer`);
        }
        if (parentOf.get(part.space) !== undefined) {
          throw new SpecError(
            `${where} uses nested space '${part.space}' as a whole part; a nested space only appears inside the blocks of its parent '${parentOf.get(part.space)}'`,
          );
        }
        if (part.inner !== undefined) checkInnerLevels(part, where, spaceNames, parentOf);
      });
    });
  }

  const layerNames = new Set<string>();
  const layerOfTensor = new Map<string, string>();
  for (const layer of spec.layers) {
    if (layerNames.has(layer.name)) throw new SpecError(`layer '${layer.name}' is declared twice`);
    layerNames.add(layer.name);
    for (const end of [layer.input, layer.output]) {
      if (end !== null && !spaceNames.has(end)) {
        throw new SpecError(
          `layer '${layer.name}' refers to space '${end}', which the spec does not declare`,
        );
      }
    }
    for (const tensorName of layer.tensors) {
      if (!tensorNames.has(tensorName)) {
        throw new SpecError(
          `layer '${layer.name}' lists tensor '${tensorName}', which the spec does not declare`,
        );
      }
      const owner = layerOfTensor.get(tensorName);
      if (owner !== undefined) {
        throw new SpecError(`tensor '${tensorName}' belongs to two layers: '${owner}' and '${layer.name}'`);
      }
      layerOfTensor.set(tensorName, layer.name);
    }
  }
}

/** The levels of a block: sizes that multiply to the block, nested spaces of the part's own space, each once. */
function checkInnerLevels(
  part: AxisPart,
  where: string,
  spaceNames: ReadonlySet<string>,
  parentOf: ReadonlyMap<string, string | undefined>,
): void {
  let product = 1;
  const seen = new Set<string>();
  for (const level of part.inner ?? []) {
    if (!Number.isInteger(level.size) || level.size < 1) {
      throw new SpecError(
        `${where} has an inner level of size ${level.size}; a size must be a positive integer`,
      );
    }
    product *= level.size;
    if (level.space === undefined) continue;
    if (!spaceNames.has(level.space)) {
      throw new SpecError(`${where} refers to space '${level.space}', which the spec does not declare`);
    }
    if (parentOf.get(level.space) !== part.space) {
      throw new SpecError(
        `${where}: space '${level.space}' inside the blocks of '${part.space}' must be declared with parent '${part.space}'`,
      );
    }
    if (seen.has(level.space)) throw new SpecError(`${where} lists nested space '${level.space}' twice`);
    seen.add(level.space);
  }
  if (product !== part.block) {
    throw new SpecError(
      `${where}: the inner levels of '${part.space}' hold ${product} entries but its block is ${part.block}`,
    );
  }
}
