import { parseArgs } from 'node:util';
import { UsageError } from '../errors.js';

export type OptionSpec =
  | {
      readonly type: 'string';
      readonly description: string;
      readonly valueName?: string;
      readonly default?: string;
    }
  | { readonly type: 'boolean'; readonly description: string };

/** One `mal` subcommand: its usage text is generated from the same option table the parser uses. */
export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly positionals: readonly string[];
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** Returns the process exit code. */
  run(args: ParsedArgs, io: CommandIO): Promise<number>;
}

export interface ParsedArgs {
  readonly positionals: readonly string[];
  readonly strings: ReadonlyMap<string, string>;
  readonly flags: ReadonlySet<string>;
}

export interface CommandIO {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  /** Redraws one progress line on stderr when it is a terminal; does nothing otherwise. */
  readonly progress: (line: string) => void;
}

export function parseCommandArgs(command: Command, argv: readonly string[]): ParsedArgs | 'help' {
  const options: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' } };
  for (const [name, spec] of Object.entries(command.options)) options[name] = { type: spec.type };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\n\n${usageOf(command)}`);
  }
  if (parsed.values.help === true) return 'help';
  if (parsed.positionals.length !== command.positionals.length) {
    throw new UsageError(
      `expected ${command.positionals.length} argument(s) (${command.positionals.join(', ')}), got ${parsed.positionals.length}\n\n${usageOf(command)}`,
    );
  }
  const strings = new Map<string, string>();
  const flags = new Set<string>();
  for (const [name, spec] of Object.entries(command.options)) {
    const value = parsed.values[name];
    if (spec.type === 'string') {
      if (typeof value === 'string') strings.set(name, value);
      else if (spec.default !== undefined) strings.set(name, spec.default);
    } else if (value === true) {
      flags.add(name);
    }
  }
  return { positionals: parsed.positionals, strings, flags };
}

export function usageOf(command: Command): string {
  const lines = [
    ['Usage: mal', command.name, ...command.positionals.map((p) => `<${p}>`), '[options]'].join(' '),
    '',
    command.summary,
    '',
    'Options:',
  ];
  const rows: [string, string][] = Object.entries(command.options).map(([name, spec]) => [
    spec.type === 'string' ? `--${name} <${spec.valueName ?? 'value'}>` : `--${name}`,
    spec.type === 'string' && spec.default !== undefined
      ? `${spec.description} (default: ${spec.default})`
      : spec.description,
  ]);
  rows.push(['--help', 'show this help']);
  const width = Math.max(...rows.map(([left]) => left.length));
  for (const [left, right] of rows) lines.push(`  ${left.padEnd(width)}  ${right}`);
  return lines.join('\n');
}

/** A numeric option, checked against its allowed range. */
export function numberOption(args: ParsedArgs, name: string, min: number, max: number): number | undefined {
  const raw = args.strings.get(name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value < min || value > max) {
    throw new UsageError(`--${name} must be a number in [${min}, ${max}], got '${raw}'`);
  }
  return value;
}

/** A string option restricted to a list of choices. */
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
