/**
 * The median of the finite values, undefined when there is none: a broken cell (a NaN loss) is left out of a
 * median rather than turning it into NaN; callers count finite values to say how many a median is over.
 */
export function median(values: readonly number[]): number | undefined {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}
