import { createHash } from 'node:crypto';
import type { StudyCell, StudyCellModel } from './study-cell.js';

/** Bumped when what a cell's row means changes, so rows of the old meaning are never reused. */
const ADDRESS_VERSION = 1;

/**
 * The cell's content address: sha256 (hex) of its canonical JSON (keys sorted, no spaces) with the models' paths
 * left out, so it is the same wherever the zoo lies and whichever machine measures it, and differs when any
 * measured input does (weights by sha256, layers, alignment, data, grid, ε).
 */
export function studyCellAddress(cell: StudyCell): string {
  const described = {
    version: ADDRESS_VERSION,
    ...cell,
    base: withoutPaths(cell.base),
    target: withoutPaths(cell.target),
  };
  return createHash('sha256').update(canonicalJson(described)).digest('hex');
}

function withoutPaths(model: StudyCellModel): Omit<StudyCellModel, 'path' | 'specPath'> {
  const { path: _path, specPath: _specPath, ...rest } = model;
  return rest;
}

/** JSON with object keys sorted at every level: equal values give equal text. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) {
      throw new RangeError(`canonical JSON has no form for ${value}`);
    }
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}
