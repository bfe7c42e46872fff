import { solveLinearAssignment } from '../solver/linear-assignment.js';
import type { InnerLevel } from '../spec/architecture-spec.js';
import type { SpacePairing } from './alignment-problem.js';
import type { CostMatrixBuilder, EntryProduct } from './cost-matrix.js';
import { mapInside, type SpaceMap, type SpaceMaps } from './space-map.js';

/** Rounds of coordinate descent over the nested spaces inside one pair of units; each round can only gain. */
const MAX_INNER_ROUNDS = 20;

/**
 * One exact-as-far-as-it-goes step for a space with nested spaces (heads with their dims, kv groups with their
 * query heads and value dims), every other space held: for every base unit `u` and target unit `t`, the nested
 * maps inside the pair are found by coordinate descent (one linear assignment per nested space, from the maps
 * `u` has now), which gives the gain of sending `t` to `u`; then one linear assignment over those gains chooses
 * the units, and each chosen pair keeps its nested maps. With a single nested space per occurrence the inner
 * step is exact, so the whole step is the exact optimum over the space and its nested maps together.
 */
export async function solveNestedAssignment(
  space: SpacePairing,
  children: readonly SpacePairing[],
  maps: SpaceMaps,
  builder: CostMatrixBuilder,
): Promise<Map<string, SpaceMap>> {
  const products = await builder.entryProducts(space, maps);
  const a = space.baseWidth;
  const b = space.targetWidth;
  const gains = new Float64Array(a * b);
  // solutions[u * b + t]: the nested maps found for the pair, one per child, in `children` order.
  const solutions: Int32Array[][] = [];
  for (let u = 0; u < a; u++) {
    const start = children.map((child) => Int32Array.from(mapInside(maps.get(child.baseSpace)!, u)));
    for (let t = 0; t < b; t++) {
      const inner = start.map((map) => Int32Array.from(map));
      const levelMaps = (level: InnerLevel): Int32Array | undefined => {
        if (level.space === undefined) return undefined;
        const c = children.findIndex((child) => child.baseSpace === level.space);
        return c >= 0 ? inner[c] : mapInside(maps.get(level.space)!, u);
      };
      descend(children, inner, products, u, t, levelMaps);
      let gain = 0;
      for (const entry of products) gain += pairGain(entry, u, t, levelMaps);
      gains[u * b + t] = gain;
      solutions[u * b + t] = inner;
    }
  }
  const map = solveLinearAssignment(gains, a, b, { maximize: true });
  const out = new Map<string, SpaceMap>();
  out.set(space.baseSpace, { ...maps.get(space.baseSpace)!, map });
  children.forEach((child, c) => {
    const previous = maps.get(child.baseSpace)!;
    const nested = Int32Array.from(previous.map);
    for (let u = 0; u < a; u++) {
      if (map[u] >= 0) nested.set(solutions[u * b + map[u]][c], u * child.baseWidth);
    }
    out.set(child.baseSpace, { ...previous, map: nested });
  });
  return out;
}

type LevelMaps = (level: InnerLevel) => Int32Array | undefined;

/** Coordinate descent over the children inside base unit `u` ← target unit `t`, in place on `inner`. */
function descend(
  children: readonly SpacePairing[],
  inner: Int32Array[],
  products: readonly EntryProduct[],
  u: number,
  t: number,
  levelMaps: LevelMaps,
): void {
  for (let round = 0; round < MAX_INNER_ROUNDS; round++) {
    let changed = false;
    children.forEach((child, c) => {
      const cost = new Float64Array(child.baseWidth * child.targetWidth);
      for (const entry of products) addChildCost(cost, child, entry, u, t, levelMaps);
      const next = solveLinearAssignment(cost, child.baseWidth, child.targetWidth, { maximize: true });
      if (next.some((value, i) => value !== inner[c][i])) {
        inner[c].set(next);
        changed = true;
      }
    });
    if (!changed) return;
  }
}

interface Levels {
  readonly base: readonly InnerLevel[];
  readonly target: readonly InnerLevel[];
  /** Per level: how many entries one step of the level spans, on each side. */
  readonly baseStrides: readonly number[];
  readonly targetStrides: readonly number[];
}

function levelsOf(entry: EntryProduct): Levels {
  const base = entry.basePart.inner ?? [{ size: entry.basePart.block }];
  const target = entry.targetPart.inner ?? [{ size: entry.targetPart.block }];
  return { base, target, baseStrides: strides(base), targetStrides: strides(target) };
}

function strides(levels: readonly InnerLevel[]): number[] {
  const out = new Array<number>(levels.length);
  let stride = 1;
  for (let l = levels.length - 1; l >= 0; l--) {
    out[l] = stride;
    stride *= levels[l].size;
  }
  return out;
}

/** Base level index → target level index of level `l` under the current maps (a fixed level keeps order). */
function levelIndex(levels: Levels, l: number, i: number, levelMaps: LevelMaps): number {
  const map = levelMaps(levels.base[l]);
  if (map !== undefined) return map[i];
  return i < levels.target[l].size ? i : -1;
}

/**
 * Adds, for every base entry of unit `u`'s block, the gain of each target index of `child`'s level with the
 * other levels mapped as they stand: `cost[i, j]` is what sending child unit `j` to `i` gains in this part.
 */
function addChildCost(
  cost: Float64Array,
  child: SpacePairing,
  entry: EntryProduct,
  u: number,
  t: number,
  levelMaps: LevelMaps,
): void {
  const levels = levelsOf(entry);
  const l = levels.base.findIndex((level) => level.space === child.baseSpace);
  if (l < 0) return;
  const blockBase = entry.basePart.block;
  const blockTarget = entry.targetPart.block;
  const tw = child.targetWidth;
  for (let x = 0; x < blockBase; x++) {
    let partial = 0;
    let valid = true;
    let i = 0;
    for (let m = 0; m < levels.base.length && valid; m++) {
      const digit = Math.floor(x / levels.baseStrides[m]) % levels.base[m].size;
      if (m === l) {
        i = digit;
        continue;
      }
      const y = levelIndex(levels, m, digit, levelMaps);
      if (y < 0) valid = false;
      else partial += y * levels.targetStrides[m];
    }
    if (!valid) continue;
    const row = (u * blockBase + x) * entry.cols + t * blockTarget + partial;
    const step = levels.targetStrides[l];
    for (let j = 0; j < tw; j++) cost[i * tw + j] += entry.product[row + j * step];
  }
}

/** The gain of sending target unit `t` to base unit `u` in one part, inside the block as the maps say. */
function pairGain(entry: EntryProduct, u: number, t: number, levelMaps: LevelMaps): number {
  const levels = levelsOf(entry);
  const blockBase = entry.basePart.block;
  const blockTarget = entry.targetPart.block;
  let gain = 0;
  for (let x = 0; x < blockBase; x++) {
    let y = 0;
    let valid = true;
    for (let m = 0; m < levels.base.length && valid; m++) {
      const digit = Math.floor(x / levels.baseStrides[m]) % levels.base[m].size;
      const target = levelIndex(levels, m, digit, levelMaps);
      if (target < 0) valid = false;
      else y += target * levels.targetStrides[m];
    }
    if (valid) gain += entry.product[(u * blockBase + x) * entry.cols + t * blockTarget + y];
  }
  return gain;
}
