import type { Stats } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { isMap, isScalar, isSeq, LineCounter, type Node, type Pair, parseDocument } from 'yaml';
import type { z } from 'zod';
import type { MalError } from '../errors.js';

/*
 * Schema-checked YAML or JSON files (plans, specs) keep the quality of a hand-written reader's errors:
 * `file:line: field.path: what is wrong`. The text is parsed with the `yaml` package (JSON is YAML, and the parser
 * keeps every node's offset); the plain value goes through a zod schema; the first issue's path is walked back
 * through the document's nodes to the line where the field is written.
 */

export interface SourceDocument {
  readonly file: string;
  /** The document as plain data (what the schema parses). */
  readonly value: unknown;
  readonly root: Node | null;
  readonly lineCounter: LineCounter;
}

/**
 * Parses a file's text; a `.json` file must be strict JSON, anything else is read as YAML. Syntax errors (and
 * repeated keys) throw `error(message)` with the line.
 */
export function readSourceDocument(
  text: string,
  file: string,
  error: (message: string) => MalError,
): SourceDocument {
  checkSourceSize(text.length, file, error);
  checkNesting(text, file, error);
  if (file.toLowerCase().endsWith('.json')) {
    try {
      JSON.parse(text);
    } catch (cause) {
      throw error(`${file}: not valid JSON: ${cause instanceof Error ? cause.message : String(cause)}`);
    }
  }
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const firstError = document.errors[0];
  if (firstError !== undefined) {
    const line = lineCounter.linePos(firstError.pos[0]).line;
    // The parser turns a stack overflow on deep nesting into a document error; say what it means.
    const message = firstError.message.split('\n')[0];
    throw error(`${file}:${line}: ${/call stack/i.test(message) ? 'nested too deeply' : message}`);
  }
  let value: unknown;
  try {
    value = document.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (cause) {
    // yaml throws a ReferenceError once aliases would expand past the cap (a "billion laughs" document).
    const message = cause instanceof Error ? cause.message : String(cause);
    if (/alias/i.test(message)) {
      throw error(`${file}: too many YAML aliases (their expansion passes ${MAX_ALIAS_COUNT} copies)`);
    }
    throw error(`${file}: cannot read the document: ${message}`);
  }
  return { file, value, root: document.contents, lineCounter };
}

/**
 * Plans and spec files are hand-sized; one beyond this is not one, and the YAML parser's time and memory grow
 * with the text (deep indentation in a multi-megabyte text exhausts the heap). Checked on the file's size before
 * reading it (readSourceText) and on the text.
 */
export const MAX_SOURCE_BYTES = 2 * 2 ** 20;

/** Aliases beyond this many expanded copies are refused: yaml's own bound against alias bombs. */
const MAX_ALIAS_COUNT = 100;

function checkSourceSize(bytes: number, file: string, error: (message: string) => MalError): void {
  if (bytes > MAX_SOURCE_BYTES) {
    throw error(
      `${file}: ${bytes} bytes, over the ${MAX_SOURCE_BYTES}-byte limit of a plan or spec file (is it the right file?)`,
    );
  }
}

/** Deeper flow collections ([ and {) than this are refused; real plans and specs nest four or five levels. */
export const MAX_FLOW_DEPTH = 64;

/** Lines whose content starts further right than this are refused (see checkNesting). */
export const MAX_INDENT_COLUMNS = 256;

/**
 * The yaml parser's cost grows with nesting: a million nested brackets in 2 MB take seconds and gigabytes, and
 * content far to the right (deep indentation, or `? ? ? …` on one line) makes its lexer compile a regular
 * expression per column that exhausts the heap. So, before parsing: the column where a line's content starts
 * (after spaces and the indicators - ? :) and the depth of brackets (quotes ignored, so a bracket inside a string
 * counts too; only 64 unclosed ones would matter) are bounded.
 */
function checkNesting(text: string, file: string, error: (message: string) => MalError): void {
  let depth = 0;
  let line = 1;
  let lineStart = 0;
  let inIndent = true;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (c === 0x0a) {
      line += 1;
      lineStart = i + 1;
      inIndent = true;
      continue;
    }
    if (inIndent) {
      // space, tab, '-', '?', ':'
      if (c === 0x20 || c === 0x09 || c === 0x2d || c === 0x3f || c === 0x3a) {
        if (i - lineStart >= MAX_INDENT_COLUMNS) {
          throw error(
            `${file}:${line}: content starts beyond column ${MAX_INDENT_COLUMNS}; nested too deeply for a plan or spec file`,
          );
        }
        continue;
      }
      inIndent = false;
    }
    if (c === 0x5b || c === 0x7b) {
      depth += 1;
      if (depth > MAX_FLOW_DEPTH) {
        throw error(`${file}:${line}: brackets nested more than ${MAX_FLOW_DEPTH} deep`);
      }
    } else if ((c === 0x5d || c === 0x7d) && depth > 0) {
      depth -= 1;
    }
  }
}

/**
 * Reads a plan or spec file's text, refusing one over MAX_SOURCE_BYTES before reading it. `what` names the file
 * kind in messages (`plan file`).
 */
export async function readSourceText(
  path: string,
  what: string,
  error: (message: string) => MalError,
): Promise<string> {
  const cannotRead = (cause: unknown): MalError =>
    error(`${path}: cannot read ${what}: ${cause instanceof Error ? cause.message : String(cause)}`);
  let info: Stats;
  try {
    info = await stat(path);
  } catch (cause) {
    throw cannotRead(cause);
  }
  if (!info.isFile()) throw cannotRead('not a regular file');
  const size = info.size;
  checkSourceSize(size, path, error);
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    throw cannotRead(cause);
  }
}

/** Parses the document with `schema`; the first issue throws `error('file:line: field: detail')`. */
export function parseSourceDocument<S extends z.ZodType>(
  schema: S,
  source: SourceDocument,
  error: (message: string) => MalError,
): z.output<S> {
  const result = schema.safeParse(source.value);
  if (result.success) return result.data;
  const { path, detail, atOwner } = explainIssue(firstIssue(result.error.issues), [], source.value);
  const line = lineOf(source, path, atOwner);
  throw error(`${source.file}${line === undefined ? '' : `:${line}`}: ${formatPath(path)}: ${detail}`);
}

/** `objective.tasks[0].data`; the empty path is `(top level)`. */
export function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(top level)';
  return path
    .map((key, index) =>
      typeof key === 'number' ? `[${key}]` : index === 0 ? String(key) : `.${String(key)}`,
    )
    .join('');
}

/** Field path (`objective.tasks[0].data`) → 1-based line, for every mapping key and list item. */
export function fieldLines(source: SourceDocument): Map<string, number> {
  const lines = new Map<string, number>();
  const visit = (node: unknown, path: PropertyKey[]): void => {
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = pair.key as Node | null;
        if (!isScalar(key)) continue;
        const at = [...path, String(key.value)];
        const line = lineAt(source, key);
        if (line !== undefined) lines.set(formatPath(at), line);
        visit(pair.value, at);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, index) => {
        const line = lineAt(source, item as Node);
        if (line !== undefined) lines.set(formatPath([...path, index]), line);
        visit(item, [...path, index]);
      });
    }
  };
  visit(source.root, []);
  return lines;
}

type Issue = z.core.$ZodIssue;

/** A misspelt key explains the rest (a required key that seems missing), so it is reported first. */
function firstIssue(issues: readonly Issue[]): Issue {
  return issues.find((issue) => issue.code === 'unrecognized_keys') ?? issues[0];
}

interface Explained {
  readonly path: PropertyKey[];
  readonly detail: string;
  /** The field is absent: its line is its owner's. */
  readonly atOwner?: boolean;
}

function explainIssue(issue: Issue, prefix: readonly PropertyKey[], root: unknown): Explained {
  const path = [...prefix, ...issue.path];
  const found = valueAt(root, path);
  const value = found === null && path.length === 0 ? undefined : found; // an empty document
  const key = path[path.length - 1];
  const owner = valueAt(root, path.slice(0, -1));
  if (issue.code === 'invalid_type' || issue.code === 'invalid_union' || issue.code === 'invalid_value') {
    if (value === undefined && path.length > 0 && isRecord(owner) && !Object.hasOwn(owner, key as string)) {
      return { path: path.slice(0, -1), detail: `missing required key '${String(key)}'`, atOwner: true };
    }
    if (value === null) return { path, detail: 'has no value' };
  }
  switch (issue.code) {
    case 'invalid_union': {
      // The branch for the value's kind (a string zoo, a mapping zoo) says what is wrong inside it.
      const fitting = issue.errors.filter(
        (branch) => !branch.every((inner) => inner.code === 'invalid_type' && inner.path.length === 0),
      );
      if (fitting.length > 0) return explainIssue(firstIssue(fitting[0]), path, root);
      const expected = isDefault(issue.message)
        ? `expected ${[...new Set(issue.errors.flat().map((inner) => expectedName(inner)))].join(' or ')}`
        : issue.message;
      return { path, detail: `${expected}, got ${describeValue(value)}` };
    }
    case 'unrecognized_keys':
      return { path: [...path, issue.keys[0]], detail: issue.message };
    case 'invalid_type': {
      if (!isDefault(issue.message)) return { path, detail: issue.message };
      if (issue.expected === 'int')
        return { path, detail: `must be an integer, got ${describeValue(value)}` };
      return { path, detail: `expected ${expectedName(issue)}, got ${describeValue(value)}` };
    }
    case 'invalid_value': {
      if (!isDefault(issue.message)) return { path, detail: issue.message };
      if (typeof value !== 'string')
        return { path, detail: `expected a non-empty string, got ${describeValue(value)}` };
      const quoted = issue.values.map((choice) => `'${String(choice)}'`);
      const choices = quoted.length <= 2 ? quoted.join(' or ') : `one of ${quoted.join(', ')}`;
      return { path, detail: `must be ${choices}, got '${value}'` };
    }
    default:
      return { path, detail: issue.message };
  }
}

/** Zod's own (English) messages; a schema's own messages replace them. */
function isDefault(message: string): boolean {
  return /^(Invalid input|Invalid option|Too small|Too big|Unrecognized key)/.test(message);
}

function expectedName(issue: Issue): string {
  if (issue.code !== 'invalid_type') return 'a valid value';
  switch (issue.expected) {
    case 'string':
      return 'a string';
    case 'number':
      return 'a finite number';
    case 'int':
      return 'an integer';
    case 'boolean':
      return 'true or false';
    case 'array':
      return 'a list';
    case 'object':
    case 'record':
      return 'a mapping';
    case 'null':
      return 'null';
    default:
      return issue.expected;
  }
}

export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (isRecord(value)) return 'a mapping';
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let value = root;
  for (const key of path) {
    if (Array.isArray(value) && typeof key === 'number') value = value[key];
    else if (isRecord(value) && Object.hasOwn(value, key as string)) value = value[key as string];
    else return undefined;
  }
  return value;
}

/**
 * The line of the field at `path`: its value's line, or its key's when it has no value; when the path is not
 * all written (a default, a missing key), the line of the deepest part that is.
 */
function lineOf(source: SourceDocument, path: readonly PropertyKey[], atOwner = false): number | undefined {
  let node: unknown = source.root;
  let pair: Pair | undefined;
  for (const key of path) {
    let next: { node: unknown; pair?: Pair } | undefined;
    if (isMap(node)) {
      const found = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(key));
      if (found !== undefined) next = { node: found.value, pair: found };
    } else if (isSeq(node) && typeof key === 'number' && key < node.items.length) {
      next = { node: node.items[key] };
    }
    if (next === undefined) break;
    node = next.node;
    pair = next.pair;
  }
  const empty = node === null || (isScalar(node) && node.value === null);
  if (empty && !atOwner && pair !== undefined) return lineAt(source, pair.key as Node);
  return (
    lineAt(source, node as Node | null) ?? (pair === undefined ? undefined : lineAt(source, pair.key as Node))
  );
}

function lineAt(source: SourceDocument, node: Node | null | undefined): number | undefined {
  const offset = node?.range?.[0];
  return offset === undefined ? undefined : source.lineCounter.linePos(offset).line;
}
