/*
 * Markdown reference of a file format, written from its JSON Schema (and so from the zod schema's descriptions):
 * one bullet per field, nested as in the file, with its type, whether it is required, its default and bounds.
 */

type JsonSchema = {
  readonly type?: string | readonly string[];
  readonly description?: string;
  readonly default?: unknown;
  readonly enum?: readonly unknown[];
  readonly const?: unknown;
  readonly anyOf?: readonly JsonSchema[];
  readonly oneOf?: readonly JsonSchema[];
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly additionalProperties?: JsonSchema | boolean;
  readonly required?: readonly string[];
  readonly items?: JsonSchema;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly exclusiveMinimum?: number;
  readonly minItems?: number;
  readonly minLength?: number;
  readonly $ref?: string;
  readonly $defs?: Readonly<Record<string, JsonSchema>>;
};

/** The bullets of every field of `schema` (an object schema), nested as the file nests them. */
export function schemaFieldsMarkdown(schema: object): string {
  const root = schema as JsonSchema;
  const lines: string[] = [];
  const resolve = (node: JsonSchema): JsonSchema => {
    if (node.$ref === undefined) return node;
    const name = node.$ref.replace('#/$defs/', '');
    return { ...(root.$defs?.[name] ?? {}), ...node, $ref: undefined };
  };
  const fields = (node: JsonSchema, depth: number): void => {
    for (const owner of objectsIn(resolve(node), resolve)) {
      const target = resolve(owner);
      for (const [key, value] of Object.entries(target.properties ?? {})) {
        field(key, value, target.required?.includes(key) === true, depth);
      }
      if (typeof target.additionalProperties === 'object') {
        field('<name>', target.additionalProperties, false, depth);
      }
    }
  };
  const field = (key: string, raw: JsonSchema, required: boolean, depth: number): void => {
    const node = resolve(raw);
    const facts = [typeOf(node, resolve)];
    if (required) facts.push('required');
    const bounds = boundsOf(node, resolve);
    if (bounds !== '') facts.push(bounds);
    if (node.default !== undefined && !isEmptyObject(node.default)) {
      facts.push(`default \`${JSON.stringify(node.default)}\``);
    }
    const description = node.description === undefined ? '' : ` ${node.description}`;
    lines.push(`${'  '.repeat(depth)}- \`${key}\` (${facts.join('; ')}):${description}`);
    fields(node, depth + 1);
  };
  fields(root, 0);
  return `${lines.join('\n')}\n`;
}

/**
 * The object schemas whose fields a value documents: itself, a list's items, or its union's mapping branches (a
 * list branch beside a mapping one is a short form, described by the field's own text).
 */
function objectsIn(node: JsonSchema, resolve: (node: JsonSchema) => JsonSchema): JsonSchema[] {
  const branches = node.anyOf ?? node.oneOf;
  if (branches !== undefined) {
    const mappings = branches.filter((branch) => resolve(branch).properties !== undefined);
    return (mappings.length > 0 ? mappings : branches).flatMap((branch) => objectsIn(branch, resolve));
  }
  const target = resolve(node);
  if (target.items !== undefined) return objectsIn(target.items, resolve);
  return target.properties !== undefined || typeof target.additionalProperties === 'object' ? [target] : [];
}

function typeOf(raw: JsonSchema, resolve: (node: JsonSchema) => JsonSchema): string {
  const node = resolve(raw);
  const branches = node.anyOf ?? node.oneOf;
  if (branches !== undefined) return branches.map((branch) => typeOf(branch, resolve)).join(' or ');
  if (node.enum !== undefined) return node.enum.map((value) => `\`${String(value)}\``).join(' \\| ');
  if (node.const !== undefined) return `\`${String(node.const)}\``;
  const type = Array.isArray(node.type) ? node.type : [node.type];
  return type
    .map((one) => {
      switch (one) {
        case 'array':
          return node.items === undefined ? 'list' : `list of ${typeOf(node.items, resolve)}`;
        case 'object':
          return 'mapping';
        case undefined:
          return 'any';
        default:
          return one;
      }
    })
    .join(' or ');
}

function boundsOf(raw: JsonSchema, resolve: (node: JsonSchema) => JsonSchema): string {
  const node = resolve(raw);
  const parts: string[] = [];
  if (node.minimum !== undefined) parts.push(`≥ ${node.minimum}`);
  if (node.exclusiveMinimum !== undefined) parts.push(`> ${node.exclusiveMinimum}`);
  if (node.maximum !== undefined && node.maximum < Number.MAX_SAFE_INTEGER) parts.push(`≤ ${node.maximum}`);
  if (node.minItems !== undefined && node.minItems > 0) parts.push(`at least ${node.minItems} item(s)`);
  return parts.join(', ');
}

function isEmptyObject(value: unknown): boolean {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0
  );
}
