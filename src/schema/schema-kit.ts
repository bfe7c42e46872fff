import { z } from 'zod';
import { describeValue } from './source-document.js';

/** Building blocks for file schemas whose messages read like a person wrote them. */

/** The data a schema gives, read-only all the way down (parsed files are never changed in place). */
export type DeepReadonly<T> = T extends (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/** An object that refuses unknown keys, naming the keys it knows. */
export function strictObject<Shape extends z.core.$ZodLooseShape>(shape: Shape) {
  const known = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown key '${issue.keys[0]}' (expected one of ${known})`
        : undefined,
  });
}

export function nonEmptyString() {
  const error = (issue: { input?: unknown }) =>
    `expected a non-empty string, got ${describeValue(issue.input)}`;
  return z.string({ error }).min(1, { error });
}

/** Bounds of a number field; `above` is exclusive, `min` and `max` inclusive. */
export interface NumberBounds {
  readonly integer?: boolean;
  readonly min?: number;
  readonly above?: number;
  readonly max?: number;
}

/** A finite number within `bounds`; out of range reads `must be an integer ≥ 1, got 0`. */
export function boundedNumber(bounds: NumberBounds) {
  const error = (issue: { input?: unknown }) =>
    `must be ${describeBounds(bounds)}, got ${String(issue.input)}`;
  let schema = bounds.integer === true ? z.number().int() : z.number();
  if (bounds.min !== undefined) schema = schema.min(bounds.min, { error });
  if (bounds.above !== undefined) schema = schema.gt(bounds.above, { error });
  if (bounds.max !== undefined) schema = schema.max(bounds.max, { error });
  return schema;
}

function describeBounds(bounds: NumberBounds): string {
  const parts: string[] = [];
  if (bounds.min !== undefined) parts.push(`≥ ${bounds.min}`);
  if (bounds.above !== undefined) parts.push(`> ${bounds.above}`);
  if (bounds.max !== undefined) parts.push(`≤ ${bounds.max}`);
  const range = parts.join(' and ');
  if (bounds.integer === true) return range === '' ? 'an integer' : `an integer ${range}`;
  return range;
}

/** A list whose items are all different; a repeat reads `'a' is listed twice` at the repeat. */
export function distinctList<T extends z.ZodType<string>>(item: T) {
  return z.array(item).superRefine((items, context) => {
    const seen = new Set<string>();
    items.forEach((value, index) => {
      if (seen.has(value))
        context.addIssue({ code: 'custom', path: [index], message: `'${value}' is listed twice` });
      seen.add(value);
    });
  });
}
