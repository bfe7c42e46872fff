import { MalError } from '../errors.js';
import { SeededRandom } from '../random/seeded-random.js';

/**
 * The class-biased split of a labelled data set (Git Re-Basin's "disjoint data" setting): a class-stratified
 * held-out set, then N parts that each see mostly their own group of classes.
 *
 * The rule, with C classes, N parts and bias b:
 * 1. Held out: n examples, class-stratified: class c gets its share n·count_c/total, rounded by the largest
 *    remainder (ties to the lower class), and the examples are the first of a seeded shuffle of the class.
 * 2. Groups: the classes 0..C−1 cut into N contiguous groups, the first C mod N groups one class larger
 *    (10 classes: N = 2 → 0–4, 5–9; N = 3 → 0–3, 4–6, 7–9).
 * 3. Parts: of every class's remaining examples, part i receives the fraction b when the class is in group i and
 *    (1−b)/(N−1) otherwise, the counts rounded by the largest remainder (ties to the lower part), so every example
 *    lands in exactly one part. b = 1 gives disjoint classes; b = 1/N an unbiased random split.
 * Each part and the held-out set list their examples in source order.
 */
export interface ClassBiasedSplitOptions {
  /** Number of parts N, from 2 to the number of classes. */
  readonly parts: number;
  /** Fraction b of a class that goes to the part owning its group, in [0, 1]. */
  readonly bias: number;
  /** Size n of the class-stratified held-out set; 0 for none. */
  readonly holdout: number;
  readonly seed: number;
}

export interface ClassBiasedSplit {
  /** `groups[i]`: the classes part i owns, ascending. */
  readonly groups: readonly (readonly number[])[];
  /** Indices of the held-out examples, ascending. */
  readonly holdout: Int32Array;
  /** `parts[i]`: indices of part i's examples, ascending. */
  readonly parts: readonly Int32Array[];
}

/** The options or the data cannot give the split asked for (more parts than classes, too large a hold-out). */
export class SplitOptionsError extends MalError {
  override readonly name = 'SplitOptionsError';
}

/** The classes 0..classes−1 in `parts` contiguous groups, the first `classes mod parts` groups one larger. */
export function classGroups(classes: number, parts: number): number[][] {
  if (!Number.isInteger(parts) || parts < 2 || parts > classes) {
    throw new SplitOptionsError(
      `split: the number of parts must be an integer from 2 to the number of classes (${classes}), got ${parts}`,
    );
  }
  const small = Math.floor(classes / parts);
  const larger = classes % parts;
  const groups: number[][] = [];
  let next = 0;
  for (let g = 0; g < parts; g++) {
    const size = small + (g < larger ? 1 : 0);
    groups.push(Array.from({ length: size }, (_, k) => next + k));
    next += size;
  }
  return groups;
}

// Shares are products of a user's decimal fraction and a count, so 0.1·30 may come out as 2.9999999999999996;
// anything this close to a whole number is taken as that number, and remainders this close as equal.
const ROUNDING_SLACK = 1e-9;

/**
 * Splits `total` into whole counts proportional to `weights` (which sum to 1) by the largest remainder (Hamilton)
 * method: each gets the floor of its quota, and the units left over go to the largest fractional parts, ties to
 * the lower index. The counts sum to `total` and each is its quota rounded down or up.
 */
export function largestRemainderCounts(total: number, weights: readonly number[]): number[] {
  const quotas = weights.map((w) => w * total);
  const counts = quotas.map((q) => Math.max(0, Math.floor(q + ROUNDING_SLACK)));
  const remainders = quotas.map((q, i) => q - counts[i]);
  let left = total - counts.reduce((a, b) => a + b, 0);
  const order = remainders
    .map((r, i) => ({ r, i }))
    .sort((a, b) => (Math.abs(a.r - b.r) <= ROUNDING_SLACK ? a.i - b.i : b.r - a.r));
  for (let k = 0; left > 0; k = (k + 1) % order.length, left--) counts[order[k].i]++;
  return counts;
}

/** Stratified hold-out counts: class c gets n·count_c/total, largest remainder in exact integer arithmetic. */
function holdoutCounts(classCounts: readonly number[], n: number): number[] {
  const total = classCounts.reduce((a, b) => a + b, 0);
  const counts = classCounts.map((m) => Math.floor((n * m) / total));
  const order = classCounts
    .map((m, c) => ({ remainder: (n * m) % total, c }))
    .sort((a, b) => b.remainder - a.remainder || a.c - b.c);
  let left = n - counts.reduce((a, b) => a + b, 0);
  for (let k = 0; left > 0; k++, left--) counts[order[k].c]++;
  return counts;
}

function checkOptions(count: number, options: ClassBiasedSplitOptions): void {
  const { bias, holdout, seed } = options;
  if (count === 0) throw new SplitOptionsError('split: the source has no examples');
  if (!(bias >= 0 && bias <= 1))
    throw new SplitOptionsError(`split: the bias must be in [0, 1], got ${bias}`);
  if (!Number.isSafeInteger(holdout) || holdout < 0) {
    throw new SplitOptionsError(`split: the hold-out size must be a non-negative integer, got ${holdout}`);
  }
  if (holdout >= count) {
    throw new SplitOptionsError(
      `split: a hold-out of ${holdout} examples leaves nothing of the ${count} to split; ask for fewer`,
    );
  }
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new SplitOptionsError(`split: the seed must be an integer from 0 to 2^32−1, got ${seed}`);
  }
}

/**
 * Applies the rule above to a data set's labels (class indices in [0, classes)). Deterministic: the same labels
 * and options give the same indices on every machine.
 */
export function classBiasedSplit(
  labels: ArrayLike<number>,
  classes: number,
  options: ClassBiasedSplitOptions,
): ClassBiasedSplit {
  const groups = classGroups(classes, options.parts);
  checkOptions(labels.length, options);
  const byClass: number[][] = Array.from({ length: classes }, () => []);
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    if (!(Number.isInteger(label) && label >= 0 && label < classes)) {
      throw new SplitOptionsError(`split: example ${i} has label ${label}, outside [0, ${classes})`);
    }
    byClass[label].push(i);
  }
  const held = holdoutCounts(
    byClass.map((members) => members.length),
    options.holdout,
  );
  const owner = new Int32Array(classes);
  groups.forEach((group, g) => {
    for (const c of group) owner[c] = g;
  });
  const parts = options.parts;
  const other = (1 - options.bias) / (parts - 1);
  // One stream, one shuffle per class in class order: the held-out examples depend on the seed and n alone.
  const random = new SeededRandom(options.seed);
  const holdout: number[] = [];
  const partMembers: number[][] = Array.from({ length: parts }, () => []);
  for (let c = 0; c < classes; c++) {
    const members = byClass[c];
    const order = random.permutation(members.length);
    for (let k = 0; k < held[c]; k++) holdout.push(members[order[k]]);
    const weights = Array.from({ length: parts }, (_, i) => (i === owner[c] ? options.bias : other));
    const counts = largestRemainderCounts(members.length - held[c], weights);
    let next = held[c];
    counts.forEach((take, i) => {
      for (let k = 0; k < take; k++) partMembers[i].push(members[order[next + k]]);
      next += take;
    });
  }
  // An empty part would only fail later, in whatever trains on it; say so while the options are at hand.
  const empty = partMembers.findIndex((members) => members.length === 0);
  if (empty >= 0) {
    throw new SplitOptionsError(
      `split: part ${empty + 1} would get no examples (${labels.length - holdout.length} left after the hold-out, bias ${options.bias}, ${parts} parts); ask for fewer parts, a smaller hold-out or a bias below 1`,
    );
  }
  const ascending = (indices: number[]): Int32Array => Int32Array.from(indices).sort();
  return { groups, holdout: ascending(holdout), parts: partMembers.map(ascending) };
}

/** How many of `indices` carry each label: `counts[c]`. */
export function countPerClass(
  labels: ArrayLike<number>,
  indices: ArrayLike<number>,
  classes: number,
): number[] {
  const counts = new Array<number>(classes).fill(0);
  for (let k = 0; k < indices.length; k++) counts[labels[indices[k]]]++;
  return counts;
}
