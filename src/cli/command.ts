import { UsageError } from '../errors.js';

/**
 * The `mal` command model. A command module exports a {@link CommandDefinition}: its arguments, an option table
 * and `run`. The program (program.ts) turns the table into commander options, checks every value (required
 * options, choices, numbers) before `run` is called, and generates `--help` from the same table.
 *
 * One way of marking what is required: positional arguments are always required; options are optional unless
 * their spec says `required: true` (help then shows "(required)").
 */

interface OptionBase {
  readonly description: string;
  /** Help and error messages show `--name <valueName>`. */
  readonly valueName?: string;
  /** The command cannot run without it: checked before `run`, and shown as "(required)" in help. */
  readonly required?: boolean;
}

/** A free-form string value. */
export interface StringOptionSpec extends OptionBase {
  readonly type: 'string';
  readonly default?: string;
}

/** One of a fixed list of strings; the list is the value name in help. */
export interface ChoiceOptionSpec extends OptionBase {
  readonly type: 'choice';
  readonly choices: readonly string[];
  readonly default?: string;
}

/** A number, checked against a range (see {@link parseNumber}). Negative numbers are read as values. */
export interface NumberOptionSpec extends OptionBase, NumberRange {
  readonly type: 'number';
  readonly default?: number;
}

/** A flag without a value. */
export interface BooleanOptionSpec {
  readonly type: 'boolean';
  readonly description: string;
}

export type OptionSpec = StringOptionSpec | ChoiceOptionSpec | NumberOptionSpec | BooleanOptionSpec;

/** One `mal` command (`inspect`, or a two-word one like `zoo train`) as its module exports it. */
export interface CommandDefinition {
  /** The words after `mal`: 'inspect', 'zoo train'. */
  readonly name: string;
  /** The description `mal <command> --help` prints. */
  readonly summary: string;
  /** Positional arguments, all required, in order. */
  readonly positionals: readonly string[];
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** Printed after the options in `--help` (why a default is what it is, examples). */
  readonly notes?: string;
  /** Returns the process exit code. */
  run(args: ParsedArgs, io: CommandIO): Promise<number>;
}

/** Checked values: given, else the spec's default. */
export interface ParsedArgs {
  readonly positionals: readonly string[];
  /** String and choice options. */
  readonly strings: ReadonlyMap<string, string>;
  /** Number options, already checked against their range. */
  readonly numbers: ReadonlyMap<string, number>;
  readonly flags: ReadonlySet<string>;
}

export interface CommandIO {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  /** Redraws one progress line on stderr when it is a terminal; does nothing otherwise. */
  readonly progress: (line: string) => void;
}

/**
 * What the program's registry holds for a command until it runs: its name, a one-line summary for `mal --help`,
 * and a loader, so that `mal --help` imports no command module.
 */
export interface LazyCommand {
  readonly name: string;
  readonly summary: string;
  readonly load: () => Promise<CommandDefinition>;
}

/** A first word with subcommands (`mal zoo train`, `mal zoo ls`): `mal zoo` alone lists them. */
export interface CommandGroup {
  readonly name: string;
  readonly summary: string;
  readonly subcommands: readonly LazyCommand[];
}

export type RegistryEntry = LazyCommand | CommandGroup;

export function isGroup(entry: RegistryEntry): entry is CommandGroup {
  return 'subcommands' in entry;
}

/** A range a number must fall in. Bounds left out are open. */
export interface NumberRange {
  /** Whole numbers only. */
  readonly integer?: boolean;
  /** Inclusive lower bound. */
  readonly min?: number;
  /** Exclusive lower bound: `above: 0` for a positive number. */
  readonly above?: number;
  /** Inclusive upper bound. */
  readonly max?: number;
}

/** "a positive integer", "a number from 0 to 1": what {@link parseNumber} asks for, in words. */
export function describeRange(range: NumberRange): string {
  const kind = range.integer ? 'integer' : 'number';
  const a = range.integer ? 'an' : 'a';
  const { min, above, max } = range;
  if (max === undefined) {
    if (above === 0 || (range.integer && min === 1)) return `a positive ${kind}`;
    if (min === 0) return `a non-negative ${kind}`;
    if (min !== undefined) return `${a} ${kind} of at least ${min}`;
    if (above !== undefined) return `${a} ${kind} above ${above}`;
    return `${a} ${kind}`;
  }
  if (min !== undefined) return `${a} ${kind} from ${min} to ${max}`;
  if (above !== undefined) return `${a} ${kind} above ${above} and at most ${max}`;
  return `${a} ${kind} of at most ${max}`;
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/**
 * The one parser of numeric command-line values: `--limit must be a positive integer, got 'abc'`. `label` names
 * the value in the message (`--limit`, or `$MAL_CACHE_MB`).
 */
export function parseNumber(raw: string, label: string, range: NumberRange): number {
  const value = Number(raw);
  const ok =
    DECIMAL.test(raw) &&
    Number.isFinite(value) &&
    (!range.integer || Number.isSafeInteger(value)) &&
    (range.min === undefined || value >= range.min) &&
    (range.above === undefined || value > range.above) &&
    (range.max === undefined || value <= range.max);
  if (!ok) throw new UsageError(`${label} must be ${describeRange(range)}, got '${raw}'`);
  return value;
}

/** A number option's value (checked by the program against the option's range before `run`). */
export function numberOption(args: ParsedArgs, name: string): number | undefined {
  return args.numbers.get(name);
}

/** A choice option's value, typed (the program checked it against the option's choices before `run`). */
export function choiceOption<T extends string>(
  args: ParsedArgs,
  name: string,
  choices: readonly T[],
): T | undefined {
  const raw = args.strings.get(name);
  if (raw === undefined) return undefined;
  if (!(choices as readonly string[]).includes(raw)) {
    throw new UsageError(`--${name} must be one of ${choices.join(', ')}, got '${raw}'`);
  }
  return raw as T;
}

/** A required option's value: the program has checked it is there. */
export function requiredString(args: ParsedArgs, name: string): string {
  const value = args.strings.get(name);
  if (value === undefined || value === '') throw new UsageError(`--${name} is required`);
  return value;
}

/** A number option that must be given, for commands that check after parsing. */
export function requiredNumber(args: ParsedArgs, name: string): number {
  const value = args.numbers.get(name);
  if (value === undefined) throw new UsageError(`--${name} is required`);
  return value;
}

/**
 * Checks option values against their specs: choices, numeric ranges, required options, no empty values. Raw
 * values are strings (or `true` for flags); absent options get their default.
 */
export function checkOptions(
  options: Readonly<Record<string, OptionSpec>>,
  raw: ReadonlyMap<string, string | true>,
): Pick<ParsedArgs, 'strings' | 'numbers' | 'flags'> {
  const strings = new Map<string, string>();
  const numbers = new Map<string, number>();
  const flags = new Set<string>();
  // `--out ""` is a mistake (an unset variable, say), not a missing option: said first, before what is missing.
  for (const [name, value] of raw) {
    if (value === '' && name in options) throw new UsageError(`--${name} must not be empty`);
  }
  for (const [name, spec] of Object.entries(options)) {
    const value = raw.get(name);
    if (spec.type === 'boolean') {
      if (value === true) flags.add(name);
      continue;
    }
    if (value === undefined || value === true) {
      if (spec.required) throw new UsageError(`--${name} is required: ${spec.description}`);
      if (spec.type === 'number') {
        if (spec.default !== undefined) numbers.set(name, spec.default);
      } else if (spec.default !== undefined) {
        strings.set(name, spec.default);
      }
      continue;
    }
    if (spec.type === 'number') {
      numbers.set(name, parseNumber(value, `--${name}`, spec));
    } else if (spec.type === 'choice') {
      if (!spec.choices.includes(value)) {
        throw new UsageError(`--${name} must be one of ${spec.choices.join(', ')}, got '${value}'`);
      }
      strings.set(name, value);
    } else {
      strings.set(name, value);
    }
  }
  return { strings, numbers, flags };
}

/** `<n>`, `<network|random>`: what help shows after an option's name. */
export function valueNameOf(spec: Exclude<OptionSpec, BooleanOptionSpec>): string {
  if (spec.valueName !== undefined) return spec.valueName;
  if (spec.type === 'choice') return choicesInline(spec) ? spec.choices.join('|') : 'name';
  if (spec.type === 'number') return spec.integer ? 'n' : 'x';
  return 'value';
}

/** Short lists of choices are the value name (`<zero|keep>`); longer ones go in the description. */
function choicesInline(spec: ChoiceOptionSpec): boolean {
  return spec.choices.join('|').length <= 20;
}

/** An option's help text: its description, its choices when they are not the value name, then "(required)" or its default. */
export function optionHelp(spec: OptionSpec): string {
  if (spec.type === 'boolean') return spec.description;
  const choices =
    spec.type === 'choice' && spec.valueName === undefined && !choicesInline(spec)
      ? `; one of ${spec.choices.join(', ')}`
      : '';
  const description = `${spec.description}${choices}`;
  if (spec.required) return `${description} (required)`;
  if (spec.default !== undefined) return `${description} (default: ${spec.default})`;
  return description;
}
