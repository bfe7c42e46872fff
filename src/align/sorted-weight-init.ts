import { solveLinearAssignment } from '../solver/linear-assignment.js';
import type { AlignmentPlan, SpacePairing } from './alignment-problem.js';
import { gatherTensor, rangeIndex } from './gather-tensor.js';
import type { SourcedAlignment } from './paired-tensors.js';

/** Quantiles kept per unit and per occurrence: enough to tell units apart, cheap to compare. */
const QUANTILES = 16;

/**
 * A starting map that needs no other map: each unit is described by the sorted values of its weights in every
 * tensor that touches its space (sorting forgets the order of every other axis, so the description does not
 * depend on how the other spaces are permuted), resampled to a fixed number of quantiles so different widths
 * compare; units are then matched by least squared distance. Coordinate descent from identity can stall in a
 * poor local optimum when a lone layer has both maps unknown; this start often lands next to the right answer.
 */
export async function sortedWeightInit(problem: SourcedAlignment, space: SpacePairing): Promise<Int32Array> {
  const base = await describeUnits(problem, space, 'base');
  const target = await describeUnits(problem, space, 'target');
  const a = space.baseWidth;
  const b = space.targetWidth;
  const d = base.length / Math.max(a, 1);
  const cost = new Float64Array(a * b);
  for (let i = 0; i < a; i++) {
    for (let j = 0; j < b; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) {
        const diff = base[i * d + k] - target[j * d + k];
        s += diff * diff;
      }
      cost[i * b + j] = s;
    }
  }
  return solveLinearAssignment(cost, a, b);
}

async function describeUnits(
  problem: SourcedAlignment,
  space: SpacePairing,
  side: 'base' | 'target',
): Promise<Float64Array> {
  const width = side === 'base' ? space.baseWidth : space.targetWidth;
  const rows: number[][] = Array.from({ length: width }, () => []);
  const spaceName = side === 'base' ? space.baseSpace : space.targetSpace;
  for (const pair of problem.pairs) {
    const axes = side === 'base' ? pair.baseAxes : pair.targetAxes;
    if (!axes.some((axis) => axis?.some((part) => part.space === spaceName))) continue;
    const tensor = await (side === 'base' ? problem.tensors.base(pair) : problem.tensors.target(pair));
    axes.forEach((axis, k) => {
      if (axis === null) return;
      let offset = 0;
      for (const part of axis) {
        const partWidth = partUnits(problem, part.space, side);
        if (part.space === spaceName) {
          const indices = tensor.shape.map((len, q) =>
            q === k ? rangeIndex(offset, width * part.block) : rangeIndex(0, len),
          );
          const order = [k, ...[...Array(tensor.shape.length).keys()].filter((q) => q !== k)];
          const slice = gatherTensor(tensor.data, tensor.shape, indices, { axisOrder: order }).data;
          const per = slice.length / width;
          for (let u = 0; u < width; u++) {
            // A typed array sorts numerically, and far faster than an Array with a comparator.
            const values = slice.slice(u * per, (u + 1) * per).sort();
            rows[u].push(...quantiles(values));
          }
        }
        offset += partWidth * part.block;
      }
    });
  }
  const d = rows[0]?.length ?? 0;
  const out = new Float64Array(width * d);
  rows.forEach((r, u) => {
    out.set(r, u * d);
  });
  return out;
}

function partUnits(problem: AlignmentPlan, spaceName: string, side: 'base' | 'target'): number {
  const pairing = problem.spaces.find((s) => (side === 'base' ? s.baseSpace : s.targetSpace) === spaceName);
  if (pairing === undefined) throw new RangeError(`sortedWeightInit: unknown ${side} space '${spaceName}'`);
  return side === 'base' ? pairing.baseWidth : pairing.targetWidth;
}

/** `QUANTILES` evenly spaced order statistics of sorted values, linearly interpolated. */
function quantiles(sorted: ArrayLike<number>): number[] {
  const n = sorted.length;
  const out = new Array<number>(QUANTILES).fill(0);
  if (n === 0) return out;
  for (let q = 0; q < QUANTILES; q++) {
    const pos = (q / (QUANTILES - 1)) * (n - 1);
    const lo = Math.floor(pos);
    const hi = Math.min(lo + 1, n - 1);
    out[q] = sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
  }
  return out;
}
