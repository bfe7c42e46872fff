import { SpecError } from '../errors.js';
import { parseSourceDocument, readSourceDocument, readSourceText } from '../schema/source-document.js';
import type { ArchitectureSpec, AxisSpec, InnerLevel } from './architecture-spec.js';
import { specFileSchema } from './spec-schema.js';
import { checkSpecStructure } from './spec-structure.js';

/* The spec file format and its checks: spec-schema.ts (JSON Schema: docs/schema/spec.schema.json). */

/** Reads a spec file; the format (JSON or YAML) follows the extension, anything but `.json` is read as YAML. */
export async function loadSpecFile(path: string): Promise<ArchitectureSpec> {
  const text = await readSourceText(path, 'spec file', (message) => new SpecError(message));
  return parseSpecFile(text, path);
}

/** Parses and checks a spec file's text. Errors read `file:line: field.path: what is wrong`. */
export function parseSpecFile(text: string, fileName: string): ArchitectureSpec {
  // JSON is read through the YAML parser too: it keeps key order and knows the line of every value.
  const error = (message: string) => new SpecError(message);
  const spec = parseSourceDocument(specFileSchema, readSourceDocument(text, fileName, error), error);
  try {
    checkSpecStructure(spec);
  } catch (error) {
    if (error instanceof SpecError) throw new SpecError(`${fileName}: ${error.message}`);
    throw error;
  }
  return spec;
}

/** The spec as spec-file JSON (one space, tensor or layer per line), which parseSpecFile reads back. */
export function serializeSpec(spec: ArchitectureSpec): string {
  for (const space of spec.spaces) {
    if (space.name.includes('*')) {
      throw new SpecError(
        `space '${space.name}' cannot be written to a spec file: '*' separates a space from its block`,
      );
    }
  }
  const spaces = spec.spaces.map((space) => JSON.stringify(space));
  const tensors = spec.tensors.map((tensor) => {
    const axes = tensor.axes.map(serializeAxis);
    return `${JSON.stringify(tensor.name)}: ${JSON.stringify(tensor.merge ? axes : { axes, merge: false })}`;
  });
  const layers = spec.layers.map((layer) => JSON.stringify(layer));
  return [
    '{',
    `  "family": ${JSON.stringify(spec.family)},`,
    `  "spaces": ${block('[', spaces, ']')},`,
    `  "tensors": ${block('{', tensors, '}')},`,
    `  "layers": ${block('[', layers, ']')},`,
    `  "attributes": ${JSON.stringify(spec.attributes)}`,
    '}',
    '',
  ].join('\n');
}

function block(open: string, lines: readonly string[], close: string): string {
  if (lines.length === 0) return `${open}${close}`;
  return `${open}\n${lines.map((line) => `    ${line}`).join(',\n')}\n  ${close}`;
}

type SerializedPart = string | { space: string; inner: readonly InnerLevel[] };

function serializeAxis(axis: AxisSpec): SerializedPart | SerializedPart[] | null {
  if (axis === null) return null;
  const parts = axis.map((part): SerializedPart => {
    if (part.inner !== undefined) return { space: part.space, inner: part.inner };
    return part.block === 1 ? part.space : `${part.space}*${part.block}`;
  });
  return parts.length === 1 ? parts[0] : parts;
}
