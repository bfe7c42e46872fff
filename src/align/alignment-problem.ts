import { IncompatibleModelsError } from '../errors.js';
import type {
  ArchitectureSpec,
  AxisPart,
  AxisSpec,
  SpaceKind,
  SpaceWidths,
  TensorSpec,
} from '../spec/architecture-spec.js';
import { type FloatTensor, shapeToString } from '../tensor/tensor.js';
import { assertPairingCoversWeights } from './shared-weights.js';

/** One side of an alignment: a model's spec and the widths of its spaces. */
export interface ModelShape {
  readonly spec: ArchitectureSpec;
  readonly widths: SpaceWidths;
  /** The model's file or folder, when known: errors name it. */
  readonly path?: string;
}

/** A base tensor and the target tensor that is mapped onto it, by name and axes. */
export interface TensorPairing {
  readonly baseName: string;
  readonly targetName: string;
  readonly baseAxes: readonly AxisSpec[];
  readonly targetAxes: readonly AxisSpec[];
}

/** A tensor pairing with both tensors loaded as float32. */
export interface TensorPair extends TensorPairing {
  readonly base: FloatTensor;
  readonly target: FloatTensor;
}

/** A base space, the target space that corresponds to it, and whether alignment may permute it. */
export interface SpacePairing {
  readonly baseSpace: string;
  readonly targetSpace: string;
  readonly kind: SpaceKind;
  readonly baseWidth: number;
  readonly targetWidth: number;
  /** A nested space: its base parent space and that space's width (one map per parent unit). */
  readonly parent?: NestedIn;
}

/** The parent of a nested space, as its map needs it. */
export interface NestedIn {
  readonly space: string;
  readonly baseWidth: number;
}

/** Which tensors and spaces correspond, before any tensor is read. */
export interface AlignmentPlan {
  readonly pairs: readonly TensorPairing[];
  /** Every base space some pair touches, in the base's network order. */
  readonly spaces: readonly SpacePairing[];
}

export interface AlignmentProblem extends AlignmentPlan {
  readonly pairs: readonly TensorPair[];
}

/**
 * Pairs tensors (by name unless a pairing is given) and derives which target space corresponds to each base
 * space from the axes of the paired tensors. The correspondence must be one-to-one, fixed spaces must have equal
 * widths, and paired axis parts must have equal blocks: anything else is reported, never merged silently.
 */
export function planAlignment(
  base: ModelShape,
  target: ModelShape,
  tensorPairs?: readonly (readonly [baseName: string, targetName: string])[],
): AlignmentPlan {
  const baseSpecs = new Map(base.spec.tensors.map((t) => [t.name, t]));
  const targetSpecs = new Map(target.spec.tensors.map((t) => [t.name, t]));
  const names = tensorPairs ?? defaultTensorPairs(base.spec, target.spec);
  assertRotaryHeadsMatch(base.spec, target.spec);

  const pairs: TensorPairing[] = [];
  const baseToTarget = new Map<string, { space: string; tensor: string }>();
  const targetToBase = new Map<string, { space: string; tensor: string }>();

  for (const [baseName, targetName] of names) {
    const bSpec = requireSpec(baseSpecs, baseName, 'base');
    const tSpec = requireSpec(targetSpecs, targetName, 'target');
    const bShape = axesShape(bSpec, base.widths);
    const tShape = axesShape(tSpec, target.widths);
    const where =
      baseName === targetName ? `tensor '${baseName}'` : `tensors '${baseName}' ↔ '${targetName}'`;
    if (bSpec.axes.length !== tSpec.axes.length) {
      throw new IncompatibleModelsError(
        `${where}: base has rank ${bSpec.axes.length} ${shapeToString(bShape)}, target rank ${tSpec.axes.length} ${shapeToString(tShape)}`,
      );
    }
    bSpec.axes.forEach((bAxis, k) => {
      const tAxis = tSpec.axes[k];
      if (bAxis === null || tAxis === null) {
        if (bAxis !== tAxis)
          throw new IncompatibleModelsError(`${where}: axis ${k} is spatial on one side only`);
        return;
      }
      if (bAxis.length !== tAxis.length) {
        throw new IncompatibleModelsError(
          `${where}: axis ${k} has ${bAxis.length} parts in the base and ${tAxis.length} in the target`,
        );
      }
      bAxis.forEach((bPart, p) => {
        const tPart = tAxis[p];
        checkBlocks(bPart, tPart, `${where}: axis ${k} part ${p}`);
        link(baseToTarget, bPart.space, tPart.space, where, 'base');
        link(targetToBase, tPart.space, bPart.space, where, 'target');
        bPart.inner?.forEach((level, l) => {
          const tSpace = tPart.inner?.[l]?.space;
          if (level.space === undefined || tSpace === undefined) return;
          link(baseToTarget, level.space, tSpace, where, 'base');
          link(targetToBase, tSpace, level.space, where, 'target');
        });
      });
    });
    pairs.push({ baseName, targetName, baseAxes: bSpec.axes, targetAxes: tSpec.axes });
  }
  assertPairingCoversWeights(pairs, base, target, tensorPairs === undefined);

  const targetKinds = new Map(target.spec.spaces.map((s) => [s.name, s.kind]));
  const targetParents = new Map(target.spec.spaces.map((s) => [s.name, s.parent]));
  const spaces: SpacePairing[] = [];
  for (const space of base.spec.spaces) {
    const linked = baseToTarget.get(space.name);
    if (linked === undefined) continue;
    const kind: SpaceKind =
      space.kind === 'fixed' || targetKinds.get(linked.space) === 'fixed' ? 'fixed' : 'free';
    const baseWidth = widthOf(base.widths, space.name, 'base');
    const targetWidth = widthOf(target.widths, linked.space, 'target');
    if (kind === 'fixed' && baseWidth !== targetWidth) {
      throw new IncompatibleModelsError(
        `fixed space '${space.name}' has width ${baseWidth} in the base but '${linked.space}' has ${targetWidth} in the target (first met at ${linked.tensor}); fixed spaces (inputs, classes) must match exactly`,
      );
    }
    const parent = space.parent;
    if (parent === undefined) {
      spaces.push({ baseSpace: space.name, targetSpace: linked.space, kind, baseWidth, targetWidth });
      continue;
    }
    const targetParent = targetParents.get(linked.space);
    if (targetParent === undefined || baseToTarget.get(parent)?.space !== targetParent) {
      throw new IncompatibleModelsError(
        `base space '${space.name}' (nested in '${parent}') corresponds to target space '${linked.space}', which is not nested in the target space that '${parent}' corresponds to (first met at ${linked.tensor})`,
      );
    }
    const parentWidth = widthOf(base.widths, parent, 'base');
    spaces.push({
      baseSpace: space.name,
      targetSpace: linked.space,
      kind,
      baseWidth,
      targetWidth,
      parent: { space: parent, baseWidth: parentWidth },
    });
  }
  return { pairs, spaces };
}

/**
 * LLaMA's q/k dims are not a free space: RoPE rotates dim pair i at a frequency fixed by i and the head width,
 * so heads of another width cannot be padded or permuted into the base's (docs/method.md, nested groups). Said
 * here in those words rather than as the unequal k_proj blocks it would otherwise surface as.
 */
function assertRotaryHeadsMatch(base: ArchitectureSpec, target: ArchitectureSpec): void {
  if (base.family !== 'llama' || target.family !== 'llama') return;
  const baseDim = base.attributes.head_dim;
  const targetDim = target.attributes.head_dim;
  if (baseDim === undefined || targetDim === undefined || Number(baseDim) === Number(targetDim)) return;
  throw new IncompatibleModelsError(
    `the LLaMA models have heads of head_dim ${baseDim} in the base and ${targetDim} in the target; RoPE fixes the frequency of each query/key dim by its index and the head width, so heads of another width cannot be aligned: use models of equal --width / --heads`,
  );
}

/** Tensors merged by default: every mergeable base tensor whose name the target also has. */
export function defaultTensorPairs(
  base: ArchitectureSpec,
  target: ArchitectureSpec,
): (readonly [baseName: string, targetName: string])[] {
  const targetNames = new Set(target.tensors.map((t) => t.name));
  return base.tensors.filter((t) => t.merge && targetNames.has(t.name)).map((t) => [t.name, t.name] as const);
}

/**
 * Paired parts must spread each unit over blocks of one structure: equal blocks, or, where the blocks have inner
 * levels, the same levels with equal fixed sizes (a nested space may differ in width: heads of other dims).
 */
function checkBlocks(bPart: AxisPart, tPart: AxisPart, where: string): void {
  const fault = (what: string) =>
    new IncompatibleModelsError(
      `${where} groups ${bPart.block} entries per unit of '${bPart.space}' in the base but ${tPart.block} per unit of '${tPart.space}' in the target: ${what}`,
    );
  if (bPart.inner === undefined && tPart.inner === undefined) {
    if (bPart.block !== tPart.block) throw fault('blocks must be equal');
    return;
  }
  const bLevels = bPart.inner ?? [{ size: bPart.block }];
  const tLevels = tPart.inner ?? [{ size: tPart.block }];
  if (bLevels.length !== tLevels.length)
    throw fault(`the blocks have ${bLevels.length} and ${tLevels.length} inner levels`);
  bLevels.forEach((level, l) => {
    const other = tLevels[l];
    if ((level.space === undefined) !== (other.space === undefined))
      throw fault(`inner level ${l} is a nested space on one side only`);
    if (level.space === undefined && level.size !== other.size)
      throw fault(
        `inner level ${l} keeps its order and must have equal sizes (${level.size} and ${other.size})`,
      );
  });
}

function link(
  links: Map<string, { space: string; tensor: string }>,
  from: string,
  to: string,
  where: string,
  side: 'base' | 'target',
): void {
  const existing = links.get(from);
  if (existing === undefined) {
    links.set(from, { space: to, tensor: where });
  } else if (existing.space !== to) {
    const other = side === 'base' ? 'target' : 'base';
    throw new IncompatibleModelsError(
      `${side} space '${from}' corresponds to ${other} space '${existing.space}' at ${existing.tensor} but to '${to}' at ${where}`,
    );
  }
}

function requireSpec(specs: ReadonlyMap<string, TensorSpec>, name: string, side: string): TensorSpec {
  const spec = specs.get(name);
  if (spec === undefined) throw new IncompatibleModelsError(`${side} model has no tensor '${name}'`);
  return spec;
}

/** The spaces an axis runs over, nested levels included. */
export function axisSpaces(axis: AxisSpec): string[] {
  if (axis === null) return [];
  return axis.flatMap((part) => [
    part.space,
    ...(part.inner ?? []).flatMap((level) => (level.space === undefined ? [] : [level.space])),
  ]);
}

/** Every space a pairing's base axes run over, nested levels included. */
export function pairSpaces(pair: Pick<TensorPairing, 'baseAxes'>): string[] {
  return pair.baseAxes.flatMap(axisSpaces);
}

/** Whether any of `spaces` runs along one of the pairing's base axes (nested levels included). */
export function pairTouches(pair: Pick<TensorPairing, 'baseAxes'>, spaces: ReadonlySet<string>): boolean {
  return pairSpaces(pair).some((s) => spaces.has(s));
}

/** Attaches loaded float32 tensors to a plan. */
export function withTensors(
  plan: AlignmentPlan,
  baseTensors: ReadonlyMap<string, FloatTensor>,
  targetTensors: ReadonlyMap<string, FloatTensor>,
): AlignmentProblem {
  const pairs = plan.pairs.map((p) => ({
    ...p,
    base: requireTensor(baseTensors, p.baseName, 'base'),
    target: requireTensor(targetTensors, p.targetName, 'target'),
  }));
  return { pairs, spaces: plan.spaces };
}

function requireTensor(tensors: ReadonlyMap<string, FloatTensor>, name: string, side: string): FloatTensor {
  const tensor = tensors.get(name);
  if (tensor === undefined) throw new IncompatibleModelsError(`${side} tensor '${name}' was not loaded`);
  return tensor;
}

/** A tensor's shape as its spec and the space widths say; spatial axes, unknown here, show as '?'. */
function axesShape(spec: TensorSpec, widths: SpaceWidths): (number | string)[] {
  return spec.axes.map((axis) =>
    axis === null
      ? '?'
      : axis.reduce((n, part) => n + (widths.get(part.space) ?? Number.NaN) * part.block, 0),
  );
}

function widthOf(widths: SpaceWidths, space: string, side: string): number {
  const w = widths.get(space);
  if (w === undefined) throw new IncompatibleModelsError(`${side} space '${space}' has no known width`);
  return w;
}
