import { Command as Commander, CommanderError, Help, Option } from 'commander';
import { MalError, UsageError } from '../errors.js';
import {
  type CommandDefinition,
  type CommandGroup,
  type CommandIO,
  checkOptions,
  isGroup,
  type LazyCommand,
  optionHelp,
  type RegistryEntry,
  valueNameOf,
} from './command.js';

/**
 * The `mal` program on commander. The registry holds only names, summaries and loaders: the program imports the
 * one command module the arguments select, so `mal --help` loads none. Exit codes: 0 on success (and for
 * `--help`, `--version`), 2 for a usage error, a MalError's own code, 70 for an internal error.
 */
export interface ProgramOptions {
  readonly version: string;
  readonly description?: string;
}

const DESCRIPTION =
  'Model Assembly Learning: align and merge neural networks of different architectures and widths.';

export const EXIT_USAGE = 2;
export const EXIT_INTERNAL = 70;

export async function runProgram(
  argv: readonly string[],
  registry: readonly RegistryEntry[],
  io: CommandIO,
  options: ProgramOptions,
): Promise<number> {
  // `mal help zoo train` is `mal zoo train --help`.
  if (argv[0] === 'help') argv = [...argv.slice(1), '--help'];
  const selected = select(registry, argv);
  let definition: CommandDefinition | undefined;
  try {
    definition = selected?.command === undefined ? undefined : await selected.command.load();
  } catch (error) {
    return internalError(io, `mal ${selected?.command?.name}`, error);
  }
  let exitCode = 0;
  const program = buildProgram(registry, io, options, selected?.command, definition, (code) => {
    exitCode = code;
  });
  const prefix = `mal ${selected?.command?.name ?? selected?.group?.name ?? ''}`.trim();
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return 0;
      // `mal` or `mal zoo` alone: commander printed the list of commands on stderr.
      if (error.code === 'commander.help') return EXIT_USAGE;
      io.err(`${prefix}: ${commanderMessage(error.message)}`);
      io.err(`Run '${prefix} --help' for usage.`);
      return EXIT_USAGE;
    }
    // A UsageError is a MalError with exit code 2.
    if (error instanceof MalError) {
      io.err(`${prefix}: ${error.message}`);
      return error.exitCode;
    }
    return internalError(io, prefix, error);
  }
}

function internalError(io: CommandIO, prefix: string, error: unknown): number {
  io.err(`${prefix}: internal error: ${(error as Error)?.stack ?? String(error)}`);
  return EXIT_INTERNAL;
}

/** `error: unknown command 'inpsect'\n(Did you mean inspect?)` → `unknown command 'inpsect' (did you mean inspect?)` */
function commanderMessage(message: string): string {
  return message
    .replace(/^error: /, '')
    .replace(/\n\(Did you mean /g, ' (did you mean ')
    .replace(/\n/g, ' ');
}

interface Selection {
  readonly group?: CommandGroup;
  readonly command?: LazyCommand;
}

/** The registry entry the first words name, if any (options before the command are the program's own). */
function select(registry: readonly RegistryEntry[], words: readonly string[]): Selection | undefined {
  const entry = registry.find((e) => e.name === words[0]);
  if (entry === undefined) return undefined;
  if (!isGroup(entry)) return { command: entry };
  const sub = entry.subcommands.find((s) => s.name === `${entry.name} ${words[1]}`);
  return { group: entry, command: sub };
}

function buildProgram(
  registry: readonly RegistryEntry[],
  io: CommandIO,
  options: ProgramOptions,
  selected: LazyCommand | undefined,
  definition: CommandDefinition | undefined,
  onExit: (code: number) => void,
): Commander {
  const program = new Commander('mal');
  const help = new Help();
  program
    .description(options.description ?? DESCRIPTION)
    .version(options.version, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show this help')
    .helpCommand(false)
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (text) => io.out(text.replace(/\n$/, '')),
      writeErr: (text) => io.err(text.replace(/\n$/, '')),
      // runProgram prints errors itself, prefixed with the command.
      outputError: () => {},
      getOutHelpWidth: () => 100,
      getErrHelpWidth: () => 100,
    })
    .configureHelp({
      subcommandTerm: (cmd) => cmd.name(),
      formatHelp: (cmd, helper) =>
        cmd === program ? topLevelHelp(registry, options) : help.formatHelp(cmd, helper),
    });
  for (const entry of registry) {
    if (isGroup(entry)) {
      const group = program.command(entry.name).description(entry.summary).summary(entry.summary);
      for (const sub of entry.subcommands) {
        const word = sub.name.split(' ').pop() ?? sub.name;
        const cmd = group.command(word).description(sub.summary).summary(sub.summary);
        if (sub === selected && definition !== undefined) define(cmd, definition, io, onExit);
      }
    } else {
      const cmd = program.command(entry.name).description(entry.summary).summary(entry.summary);
      if (entry === selected && definition !== undefined) define(cmd, definition, io, onExit);
    }
  }
  return program;
}

/** Gives a registered command its arguments, options and action from the loaded definition. */
function define(
  cmd: Commander,
  definition: CommandDefinition,
  io: CommandIO,
  onExit: (code: number) => void,
): void {
  cmd.description(definition.summary);
  for (const name of definition.positionals) cmd.argument(`<${name}>`);
  const attributes = new Map<string, string>();
  for (const [name, spec] of Object.entries(definition.options)) {
    const flags = spec.type === 'boolean' ? `--${name}` : `--${name} <${valueNameOf(spec)}>`;
    const option = new Option(flags, optionHelp(spec));
    attributes.set(name, option.attributeName());
    cmd.addOption(option);
  }
  if (definition.notes !== undefined) cmd.addHelpText('after', `\n${definition.notes}`);
  cmd.action(async (...params: unknown[]) => {
    const self = params[params.length - 1] as Commander;
    const values = self.opts<Record<string, string | true | undefined>>();
    const raw = new Map<string, string | true>();
    for (const [name, attribute] of attributes) {
      const value = values[attribute];
      if (value !== undefined) raw.set(name, value);
    }
    let checked: ReturnType<typeof checkOptions>;
    try {
      checked = checkOptions(definition.options, raw);
    } catch (error) {
      if (error instanceof UsageError) {
        throw new UsageError(`${error.message}\nRun 'mal ${definition.name} --help' for usage.`);
      }
      throw error;
    }
    onExit(await definition.run({ positionals: self.args.slice(), ...checked }, io));
  });
}

function topLevelHelp(registry: readonly RegistryEntry[], options: ProgramOptions): string {
  const rows: [string, string][] = [];
  for (const entry of registry) {
    if (isGroup(entry)) {
      for (const sub of entry.subcommands) rows.push([sub.name, sub.summary]);
    } else {
      rows.push([entry.name, entry.summary]);
    }
  }
  const width = Math.max(...rows.map(([name]) => name.length));
  const optionRows: [string, string][] = [
    ['-V, --version', 'print the version'],
    ['-h, --help', 'show this help'],
  ];
  return [
    'Usage: mal <command> [options]',
    '',
    options.description ?? DESCRIPTION,
    '',
    'Commands:',
    ...rows.map(([name, summary]) => `  ${name.padEnd(width)}  ${summary}`),
    '',
    'Options:',
    ...optionRows.map(([name, summary]) => `  ${name.padEnd(width)}  ${summary}`),
    '',
    "Run 'mal <command> --help' for a command's options.",
    '',
  ].join('\n');
}
