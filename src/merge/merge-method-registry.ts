import { z } from 'zod';
import { IncompatibleModelsError, MalError } from '../errors.js';
import type { MergeMethodDefinition, MergeTensorContext } from './merge-method-definition.js';
import { InvalidMergeOptionError } from './merge-options-error.js';
import { dareLinearMethod } from './methods/dare-linear.js';
import { dareTiesMethod } from './methods/dare-ties.js';
import { malMethod } from './methods/mal.js';
import { slerpMethod } from './methods/slerp.js';
import { taskArithmeticMethod } from './methods/task-arithmetic.js';
import { tiesMethod } from './methods/ties.js';

/**
 * Every merge method, in the order help texts list them. Adding a method: one file in `methods/` exporting its
 * `defineMergeMethod(…)`, and one line here.
 */
const METHODS = [
  malMethod,
  slerpMethod,
  taskArithmeticMethod,
  tiesMethod,
  dareLinearMethod,
  dareTiesMethod,
] as const;

type Methods = typeof METHODS;
export type MergeMethodName = Methods[number]['name'];
type NamesOf<T extends readonly unknown[]> = {
  readonly [K in keyof T]: T[K] extends { name: infer N } ? N : never;
};
type ChoicesOf<T extends readonly unknown[]> = {
  readonly [K in keyof T]: T[K] extends { choice: infer C } ? C : never;
};

/** The method names, in registry order. */
export const MERGE_METHOD_NAMES = METHODS.map((m) => m.name) as unknown as NamesOf<Methods>;

/** Every definition, in registry order. */
export const MERGE_METHOD_DEFINITIONS: readonly MergeMethodDefinition[] = METHODS;

/** A method name that is not in the registry; the message lists the known ones and suggests the nearest. */
export class UnknownMergeMethodError extends MalError {
  override readonly name = 'UnknownMergeMethodError';
  readonly known: readonly string[] = MERGE_METHOD_NAMES;
  readonly suggestion: string | undefined;
  constructor(readonly method: string) {
    const suggestion = nearestName(method, MERGE_METHOD_NAMES);
    super(unknownMethodMessage(method, suggestion));
    this.suggestion = suggestion;
  }
}

function unknownMethodMessage(method: string, suggestion: string | undefined): string {
  const known = MERGE_METHOD_NAMES.join(', ');
  return suggestion === undefined
    ? `unknown merge method '${method}'; known methods: ${known}`
    : `unknown merge method '${method}'; did you mean '${suggestion}'? Known methods: ${known}`;
}

export function isMergeMethodName(name: string): name is MergeMethodName {
  return (MERGE_METHOD_NAMES as readonly string[]).includes(name);
}

/** The definition of a method by name; an unknown name throws `UnknownMergeMethodError`. */
export function mergeMethod(name: string): MergeMethodDefinition {
  const found = METHODS.find((m) => m.name === name);
  if (found === undefined) throw new UnknownMergeMethodError(name);
  return found;
}

/**
 * "A method with its parameters", as a plan or a command line states it: `{ method: 'ties', density: 0.3 }`.
 * Parameters left out get their defaults; unknown parameters are refused; an unknown method gets a suggestion.
 */
export const mergeMethodChoiceSchema = z.discriminatedUnion(
  'method',
  METHODS.map((m) => m.choice) as unknown as ChoicesOf<Methods>,
  {
    error: (issue) => {
      if (issue.code !== 'invalid_union') return undefined;
      const method = (issue.input as { method?: unknown } | undefined)?.method;
      if (typeof method !== 'string') return `'method' must be one of ${MERGE_METHOD_NAMES.join(', ')}`;
      return unknownMethodMessage(method, nearestName(method, MERGE_METHOD_NAMES));
    },
  },
);

/**
 * A plan field for the method: a bare name (`method: ties`, all defaults) or a choice with parameters
 * (`method: { method: ties, density: 0.3 }`); parses to a `MergeMethodChoice` either way.
 */
export const mergeMethodFieldSchema = z.preprocess((value, context) => {
  const choice = typeof value === 'string' ? { method: value } : value;
  // parseMergeMethodChoice words every failure for a person (did you mean, the parameters a method takes, the
  // value given); its issue is placed on the field as written, a bare name or a mapping.
  try {
    parseMergeMethodChoice(choice);
  } catch (error) {
    if (!(error instanceof MalError)) throw error;
    const parameter = error instanceof InvalidMergeOptionError ? error.option : 'method';
    const onParameter = typeof value === 'object' && value !== null && parameter !== 'method';
    context.addIssue({
      code: 'custom',
      message: error.message.replace(/^merge option '[^']*' (of method '[^']*' )?/, ''),
      path: onParameter ? [parameter] : [],
      input: value,
    });
    return z.NEVER;
  }
  return choice;
}, mergeMethodChoiceSchema);

/** A method with its parameters, defaults filled in (what `mergeMethodChoiceSchema` parses to). */
export type MergeMethodChoice = z.output<typeof mergeMethodChoiceSchema>;
/** A method with its parameters as written, defaults optional. */
export type MergeMethodChoiceInput = z.input<typeof mergeMethodChoiceSchema>;

/** MAL with the zero-padding policy: the default everywhere a method is optional. */
export const DEFAULT_MERGE_METHOD_CHOICE: MergeMethodChoice = { method: 'mal', unmatched: 'zero' };

/**
 * Parses a method with its parameters (e.g. from JSON or YAML). Throws `UnknownMergeMethodError` for an unknown
 * method and `InvalidMergeOptionError` naming the parameter for a bad or unknown parameter.
 */
export function parseMergeMethodChoice(input: unknown): MergeMethodChoice {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidMergeOptionError(
      'method',
      `must be an object like { method: 'mal' }, got ${String(input)}`,
    );
  }
  const name = (input as { method?: unknown }).method;
  if (typeof name !== 'string') {
    throw new InvalidMergeOptionError('method', `must be one of ${MERGE_METHOD_NAMES.join(', ')}`);
  }
  const definition = mergeMethod(name);
  const parsed = definition.choice.safeParse(input);
  if (parsed.success) return parsed.data as MergeMethodChoice;
  const issue = parsed.error.issues[0];
  const parameters = Object.keys(definition.parameters.shape);
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0];
    const suggestion = nearestName(key, parameters);
    throw new InvalidMergeOptionError(
      key,
      `is not a parameter of method '${name}'${suggestion === undefined ? '' : `; did you mean '${suggestion}'?`} (its parameters: ${parameters.length === 0 ? 'none' : parameters.join(', ')})`,
    );
  }
  const parameter = issue.path.join('.');
  const value = (input as Record<string, unknown>)[String(issue.path[0])];
  throw new InvalidMergeOptionError(
    parameter,
    `of method '${name}' ${issue.message}, got ${JSON.stringify(value) ?? String(value)}`,
  );
}

/**
 * A method with parameters given as strings, as a command line has them (`density` → "0.3"): numbers and
 * booleans are converted by the parameter's schema, then `parseMergeMethodChoice` checks them.
 */
export function mergeMethodChoiceFromStrings(
  method: string,
  parameters: Readonly<Record<string, string>>,
): MergeMethodChoice {
  const definition = mergeMethod(method);
  const rows = new Map(mergeMethodParameterRows(definition.name).map((r) => [r.name, r]));
  const values: Record<string, unknown> = { method };
  for (const [key, raw] of Object.entries(parameters)) {
    const type = rows.get(key)?.jsonType;
    values[key] =
      (type === 'number' || type === 'integer') && raw.trim() !== '' && !Number.isNaN(Number(raw))
        ? Number(raw)
        : type === 'boolean' && (raw === 'true' || raw === 'false')
          ? raw === 'true'
          : raw;
  }
  return parseMergeMethodChoice(values);
}

/** A method's parameters without its name: what `MergeMethodDefinition.mergeTensor` gets as `params`. */
export function methodParameters(choice: MergeMethodChoice): Record<string, unknown> {
  const { method: _method, ...params } = choice;
  return params;
}

/** The fields of `MergeTensorContext` other than the method's parameters. */
export type MergeTensorInputs = Omit<MergeTensorContext, 'params'>;

/**
 * Merges one tensor with a parsed method choice. A method that needs an ancestor and gets none throws
 * `InvalidMergeOptionError` naming the method and the tensor.
 */
export function mergeTensorWith(choice: MergeMethodChoice, inputs: MergeTensorInputs): Float32Array {
  const definition = mergeMethod(choice.method);
  if (definition.needsAncestor && inputs.ancestor === undefined) {
    throw new InvalidMergeOptionError(
      'ancestor',
      `is required by method '${definition.name}'`,
      inputs.tensorName,
    );
  }
  return definition.mergeTensor({ ...inputs, params: methodParameters(choice) });
}

/** Whether the method, with these parameters, reads the matched mask of the mapped target. */
export function choiceNeedsMatchedMask(choice: MergeMethodChoice): boolean {
  return mergeMethod(choice.method).needsMatchedMask(methodParameters(choice));
}

/**
 * Refuses a method that needs equal widths when the maps pair spaces of different widths (a method with
 * `acrossWidths`, i.e. `mal`, always passes).
 */
export function assertMethodFitsWidths(
  method: string,
  spaces: Iterable<{ readonly baseSpace: string; readonly baseWidth: number; readonly targetWidth: number }>,
): void {
  const definition = mergeMethod(method);
  if (definition.acrossWidths) return;
  const uneven = [...spaces].find((m) => m.baseWidth !== m.targetWidth);
  if (uneven !== undefined) {
    throw new IncompatibleModelsError(
      `merge method '${method}' needs models of equal widths, but space '${uneven.baseSpace}' has ${uneven.baseWidth} units in the base and ${uneven.targetWidth} in the target; use method 'mal'`,
    );
  }
}

/** Refuses a method that needs an ancestor when none is given; the message names the method. */
export function assertAncestorGiven(method: string, ancestorGiven: boolean): void {
  if (mergeMethod(method).needsAncestor && !ancestorGiven) {
    throw new InvalidMergeOptionError(
      'ancestor',
      `is required by method '${method}' (task vectors are measured against the models' common ancestor)`,
    );
  }
}

/** One parameter of one method, for help texts and CLI option generation. */
export interface MergeMethodParameterRow {
  /** The parameter's key in a method choice (`dropProbability`). */
  readonly name: string;
  /** Its kebab-case command-line spelling (`drop-probability`). */
  readonly flag: string;
  /** Human type: `zero|keep`, `number in (0, 1]`. */
  readonly type: string;
  /** JSON schema type (`number`, `string`, …), for converting command-line strings. */
  readonly jsonType: string;
  /** The default as text (`0.5`, `zero`), or '' when there is none. */
  readonly default: string;
  /** The allowed values of a choice parameter. */
  readonly choices?: readonly string[];
  /** The bounds of a number parameter, as its schema states them. */
  readonly bounds?: {
    readonly minimum?: number;
    readonly exclusiveMinimum?: number;
    readonly maximum?: number;
    readonly exclusiveMaximum?: number;
  };
  readonly description: string;
}

interface JsonSchemaProperty {
  type?: string;
  enum?: unknown[];
  default?: unknown;
  description?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
}

/** The parameter rows of one method, in declaration order. */
export function mergeMethodParameterRows(method: string): MergeMethodParameterRow[] {
  const definition = mergeMethod(method);
  const schema = z.toJSONSchema(definition.parameters, { io: 'input' }) as {
    properties?: Record<string, JsonSchemaProperty>;
  };
  return Object.entries(schema.properties ?? {}).map(([name, p]) => ({
    name,
    flag: name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`),
    type: typeText(p),
    jsonType: p.type ?? (p.enum === undefined ? 'unknown' : 'string'),
    default: p.default === undefined ? '' : String(p.default),
    description: p.description ?? '',
    ...(p.enum === undefined ? {} : { choices: p.enum.map(String) }),
    ...(p.type === 'number' || p.type === 'integer'
      ? {
          bounds: Object.fromEntries(
            Object.entries({
              minimum: p.minimum,
              exclusiveMinimum: p.exclusiveMinimum,
              maximum: p.maximum,
              exclusiveMaximum: p.exclusiveMaximum,
            }).filter(([, bound]) => bound !== undefined),
          ),
        }
      : {}),
  }));
}

function typeText(p: JsonSchemaProperty): string {
  if (p.enum !== undefined) return p.enum.map(String).join('|');
  if (p.type !== 'number' && p.type !== 'integer') return p.type ?? 'unknown';
  const low =
    p.exclusiveMinimum !== undefined
      ? `(${p.exclusiveMinimum}`
      : p.minimum !== undefined
        ? `[${p.minimum}`
        : undefined;
  const high =
    p.exclusiveMaximum !== undefined
      ? `${p.exclusiveMaximum})`
      : p.maximum !== undefined
        ? `${p.maximum}]`
        : undefined;
  if (low === undefined && high === undefined) return p.type;
  return `${p.type} in ${low ?? '(-∞'}, ${high ?? '∞)'}`;
}

/** Every method with its summary, requirements and parameters, as a help text (no trailing newline). */
export function describeMergeMethods(): string {
  const width = Math.max(...MERGE_METHOD_NAMES.map((n) => n.length));
  const lines: string[] = [];
  for (const m of METHODS) {
    const needs = [
      m.acrossWidths ? 'any widths' : 'equal widths',
      ...(m.needsAncestor ? ['needs an ancestor'] : []),
    ];
    lines.push(`${m.name.padEnd(width)}  ${m.summary} [${needs.join('; ')}]`);
    for (const row of mergeMethodParameterRows(m.name)) {
      const dflt = row.default === '' ? '' : `, default ${row.default}`;
      lines.push(`${''.padEnd(width)}    ${row.name} (${row.type}${dflt}): ${row.description}`);
    }
  }
  return lines.join('\n');
}

/** The closest of `names` to `input` (case-insensitive edit distance, or a prefix), if close enough to suggest. */
export function nearestName(input: string, names: readonly string[]): string | undefined {
  const wanted = input.toLowerCase();
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const name of names) {
    const distance = editDistance(wanted, name.toLowerCase());
    if (distance < bestDistance) {
      best = name;
      bestDistance = distance;
    }
  }
  if (best !== undefined && bestDistance <= Math.max(2, Math.floor(best.length / 3))) return best;
  return wanted.length >= 3 ? names.find((n) => n.toLowerCase().startsWith(wanted)) : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j] + 1,
        current[j - 1] + 1,
        previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length];
}
