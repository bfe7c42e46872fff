import { SpecError } from '../errors.js';
import type { ArchitectureSpec, AxisPart } from './architecture-spec.js';
import { checkSpecStructure } from './spec-structure.js';

/**
 * Width (number of units) of every space of `spec`, solved from the tensor shapes, after checking that every
 * axis of every tensor has exactly the length its parts imply (Σ width(part.space) · part.block).
 *
 * Widths are solved axis by axis in spec order: an axis whose parts of unknown width all belong to one space
 * determines that space (GPT-2's fused q|k|v axis holds three parts of one heads space). The first axis that
 * determines a space wins, so a conflicting axis further on is the one reported.
 */
export function computeSpaceWidths(
  spec: ArchitectureSpec,
  shapes: ReadonlyMap<string, readonly number[]>,
): Map<string, number> {
  checkSpecStructure(spec);
  checkTensorSets(spec, shapes);

  const widths = nestedWidths(spec);
  let solvedSome = true;
  while (solvedSome) {
    solvedSome = false;
    for (const tensor of spec.tensors) {
      const shape = shapes.get(tensor.name)!;
      tensor.axes.forEach((axis, axisIndex) => {
        if (axis === null) return;
        const solved = solveAxis(axis, shape[axisIndex], widths, `tensor '${tensor.name}' axis ${axisIndex}`);
        if (solved !== undefined) {
          widths.set(solved.space, solved.width);
          solvedSome = true;
        }
      });
    }
  }

  const unsolved = spec.spaces.filter((space) => !widths.has(space.name)).map((space) => space.name);
  for (const name of unsolved) {
    const used = spec.tensors.some((tensor) =>
      tensor.axes.some((axis) =>
        axis?.some((part) => part.space === name || part.inner?.some((level) => level.space === name)),
      ),
    );
    throw new SpecError(
      used
        ? `cannot determine the width of space '${name}': every axis that holds it also holds another space of unknown width`
        : `space '${name}' is declared but no tensor axis belongs to it, so its width is unknown`,
    );
  }

  for (const tensor of spec.tensors) {
    const shape = shapes.get(tensor.name)!;
    tensor.axes.forEach((axis, axisIndex) => {
      if (axis === null) return;
      const expected = axisLength(axis, widths);
      if (expected !== shape[axisIndex]) {
        const described = axis.map((part) => `${describePart(part)} (width ${widths.get(part.space)})`);
        throw new SpecError(
          `tensor '${tensor.name}' axis ${axisIndex} has length ${shape[axisIndex]} but spaces [${described.join(', ')}] need ${expected}`,
        );
      }
    });
  }
  return widths;
}

/** Length of an axis given the widths of its spaces: Σ width(part.space) · part.block. */
export function axisLength(axis: readonly AxisPart[], widths: ReadonlyMap<string, number>): number {
  let length = 0;
  for (const part of axis) {
    const width = widths.get(part.space);
    if (width === undefined) throw new SpecError(`width of space '${part.space}' is unknown`);
    length += width * part.block;
  }
  return length;
}

/** A nested space's width is the size of its level in every block that holds it; they must agree. */
function nestedWidths(spec: ArchitectureSpec): Map<string, number> {
  const widths = new Map<string, number>();
  for (const tensor of spec.tensors) {
    tensor.axes.forEach((axis, axisIndex) => {
      for (const part of axis ?? []) {
        for (const level of part.inner ?? []) {
          if (level.space === undefined) continue;
          const known = widths.get(level.space);
          if (known !== undefined && known !== level.size) {
            throw new SpecError(
              `tensor '${tensor.name}' axis ${axisIndex} gives nested space '${level.space}' ${level.size} units, elsewhere it has ${known}`,
            );
          }
          widths.set(level.space, level.size);
        }
      }
    });
  }
  return widths;
}

function checkTensorSets(spec: ArchitectureSpec, shapes: ReadonlyMap<string, readonly number[]>): void {
  const specNames = new Set(spec.tensors.map((tensor) => tensor.name));
  for (const name of shapes.keys()) {
    if (!specNames.has(name)) throw new SpecError(`model tensor '${name}' is not described by the spec`);
  }
  for (const tensor of spec.tensors) {
    const shape = shapes.get(tensor.name);
    if (shape === undefined) throw new SpecError(`spec tensor '${tensor.name}' is not in the model`);
    if (shape.length !== tensor.axes.length) {
      throw new SpecError(
        `tensor '${tensor.name}' has rank ${shape.length} (shape [${shape.join(', ')}]) but the spec gives it ${tensor.axes.length} axes`,
      );
    }
  }
}

/** The one space an axis determines, or undefined when the axis has no unknown space or more than one. */
function solveAxis(
  axis: readonly AxisPart[],
  length: number,
  widths: ReadonlyMap<string, number>,
  where: string,
): { space: string; width: number } | undefined {
  let known = 0;
  let unknownSpace: string | undefined;
  let unknownBlocks = 0;
  for (const part of axis) {
    const width = widths.get(part.space);
    if (width !== undefined) {
      known += width * part.block;
    } else if (unknownSpace === undefined || unknownSpace === part.space) {
      unknownSpace = part.space;
      unknownBlocks += part.block;
    } else {
      return undefined;
    }
  }
  if (unknownSpace === undefined) return undefined;
  const remaining = length - known;
  const width = remaining / unknownBlocks;
  if (!Number.isInteger(width) || width < 1) {
    const described = axis.map((part) => {
      const width = widths.get(part.space);
      return width === undefined ? describePart(part) : `${describePart(part)} (width ${width})`;
    });
    throw new SpecError(
      `${where} has length ${length} but spaces [${described.join(', ')}] cannot fill it: ` +
        `${remaining} entries left for space '${unknownSpace}' is not a positive multiple of ${unknownBlocks}`,
    );
  }
  return { space: unknownSpace, width };
}

function describePart(part: AxisPart): string {
  return part.block === 1 ? part.space : `${part.space}*${part.block}`;
}
