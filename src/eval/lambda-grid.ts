import { UsageError } from '../errors.js';

/**
 * Parses a λ grid: `start:step:end` (inclusive, e.g. `0:0.1:1`) or a comma list (`0,0.25,0.5,1`). Values are
 * rounded to 12 decimals so `0:0.1:1` gives exactly 0.3, not 0.30000000000000004. The grid must start at 0 and
 * end at 1 (the two models themselves), sorted and without repeats.
 */
export function parseLambdaGrid(text: string): number[] {
  let values: number[];
  const range = text.split(':');
  if (range.length === 3) {
    const [start, step, end] = range.map(Number);
    if (![start, step, end].every(Number.isFinite) || step <= 0) {
      throw new UsageError(`λ grid '${text}': expected start:step:end with a positive step`);
    }
    const count = Math.round((end - start) / step);
    if (Math.abs(start + count * step - end) > 1e-9) {
      throw new UsageError(`λ grid '${text}': the step does not reach the end exactly`);
    }
    if (count > 10_000) throw new UsageError(`λ grid '${text}': more than 10 000 points`);
    values = Array.from({ length: count + 1 }, (_, i) => start + i * step);
  } else {
    values = text.split(',').map((v) => Number(v.trim()));
    if (values.some((v) => !Number.isFinite(v))) {
      throw new UsageError(`λ grid '${text}': expected start:step:end or a comma-separated list of numbers`);
    }
  }
  values = values.map((v) => Math.round(v * 1e12) / 1e12);
  for (let i = 1; i < values.length; i++) {
    if (!(values[i] > values[i - 1])) throw new UsageError(`λ grid '${text}': values must increase`);
  }
  if (values[0] !== 0 || values[values.length - 1] !== 1) {
    throw new UsageError(`λ grid '${text}': must start at 0 and end at 1`);
  }
  return values;
}
