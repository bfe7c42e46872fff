import { isMap, isScalar, isSeq, type LineCounter, type Node } from 'yaml';
import { PlanError } from './plan-error.js';

/** Bounds of a number field; `above` is exclusive, `min` and `max` inclusive. */
export interface NumberBounds {
  readonly integer?: boolean;
  readonly min?: number;
  readonly above?: number;
  readonly max?: number;
}

/** The path of a field inside `path`; the top level has the empty path. */
export function childPath(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/**
 * Reads the nodes of a parsed plan document, checking each value where it stands so an error can name its line
 * and field path, and recording the line of every field it visits (for errors found after parsing).
 */
export class PlanNodeReader {
  private readonly fieldLines = new Map<string, number>();

  constructor(
    private readonly file: string,
    private readonly lineCounter: LineCounter,
  ) {}

  get lines(): ReadonlyMap<string, number> {
    return this.fieldLines;
  }

  /** A mapping's fields by name, refusing any key not in `allowed`; records the line of each field's key. */
  map(node: Node | null, path: string, allowed: readonly string[]): Map<string, Node> {
    if (!isMap(node)) this.fail(node, displayPath(path), `expected a mapping, got ${describe(node)}`);
    const fields = new Map<string, Node>();
    for (const pair of node.items) {
      const keyNode = pair.key as Node | null;
      if (!isScalar(keyNode) || typeof keyNode.value !== 'string') {
        this.fail(keyNode ?? node, displayPath(path), 'keys must be names');
      }
      const key = keyNode.value;
      const field = childPath(path, key);
      if (!allowed.includes(key)) {
        this.fail(keyNode, field, `unknown key '${key}' (expected one of ${allowed.join(', ')})`);
      }
      const value = pair.value as Node | null;
      if (value === null || (isScalar(value) && value.value === null))
        this.fail(keyNode, field, 'has no value');
      this.remember(keyNode, field);
      fields.set(key, value);
    }
    return fields;
  }

  required(fields: ReadonlyMap<string, Node>, key: string, owner: Node | null, path: string): Node {
    const node = fields.get(key);
    if (node === undefined) this.fail(owner, displayPath(path), `missing required key '${key}'`);
    return node;
  }

  /** A list's items; records the line of each item as `path[i]`. */
  seq(node: Node, path: string): Node[] {
    if (!isSeq(node)) this.fail(node, path, `expected a list, got ${describe(node)}`);
    const items = node.items as Node[];
    for (const [index, item] of items.entries()) this.remember(item, `${path}[${index}]`);
    return items;
  }

  string(node: Node, path: string): string {
    if (!isScalar(node) || typeof node.value !== 'string' || node.value === '') {
      this.fail(node, path, `expected a non-empty string, got ${describe(node)}`);
    }
    return node.value;
  }

  /** A non-empty list of distinct non-empty strings. */
  stringList(node: Node, path: string): string[] {
    const items = this.seq(node, path);
    if (items.length === 0) this.fail(node, path, 'must list at least one name');
    const seen = new Set<string>();
    return items.map((item, index) => {
      const value = this.string(item, `${path}[${index}]`);
      if (seen.has(value)) this.fail(item, `${path}[${index}]`, `'${value}' is listed twice`);
      seen.add(value);
      return value;
    });
  }

  choice<T extends string>(node: Node, path: string, choices: readonly T[]): T {
    const value = this.string(node, path);
    if (!(choices as readonly string[]).includes(value)) {
      this.fail(node, path, `must be ${listChoices(choices)}, got '${value}'`);
    }
    return value as T;
  }

  number(node: Node, path: string, bounds: NumberBounds = {}): number {
    if (!isScalar(node) || typeof node.value !== 'number' || !Number.isFinite(node.value)) {
      this.fail(node, path, `expected a finite number, got ${describe(node)}`);
    }
    const value = node.value;
    if (bounds.integer === true && !Number.isSafeInteger(value)) {
      this.fail(node, path, `must be an integer, got ${value}`);
    }
    const outside =
      (bounds.min !== undefined && value < bounds.min) ||
      (bounds.above !== undefined && value <= bounds.above) ||
      (bounds.max !== undefined && value > bounds.max);
    if (outside) this.fail(node, path, `must be ${describeBounds(bounds)}, got ${value}`);
    return value;
  }

  fail(node: Node | null | undefined, path: string, detail: string): never {
    const offset = node?.range?.[0];
    const where = offset === undefined ? this.file : `${this.file}:${this.lineCounter.linePos(offset).line}`;
    throw new PlanError(`${where}: ${path}: ${detail}`);
  }

  private remember(node: Node, path: string): void {
    const offset = node.range?.[0];
    if (offset !== undefined) this.fieldLines.set(path, this.lineCounter.linePos(offset).line);
  }
}

function displayPath(path: string): string {
  return path === '' ? '(top level)' : path;
}

function listChoices(choices: readonly string[]): string {
  const quoted = choices.map((c) => `'${c}'`);
  return quoted.length <= 2 ? quoted.join(' or ') : `one of ${quoted.join(', ')}`;
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

function describe(node: Node | null | undefined): string {
  if (node === null || node === undefined) return 'nothing';
  if (isScalar(node)) return typeof node.value === 'string' ? JSON.stringify(node.value) : String(node.value);
  if (isSeq(node)) return 'a list';
  if (isMap(node)) return 'a mapping';
  return 'an alias or unsupported value';
}
