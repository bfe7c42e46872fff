import { Command as Commander, CommanderError, Help, Option } from 'commander';
import { MalError, UsageError } from '../errors.js';
import { errnoCode, fileSystemError } from '../io/file-system-error.js';
import {
  type CommandDefinition,
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

/** Help lines wrap at this many columns. */
const HELP_WIDTH = 100;

export async function runProgram(
  argv: readonly string[],
  registry: readonly RegistryEntry[],
  io: CommandIO,
  options: ProgramOptions,
): Promise<number> {
  const request = helpRequest(argv, registry);
  if ('error' in request) {
    io.err(`mal help: ${request.error}`);
    io.err("Run 'mal --help' for usage.");
    return EXIT_USAGE;
  }
  let exitCode = 0;
  const state: ParseState = { prefix: 'mal', flags: new Set(['--help', '--version']) };
  const program = buildProgram(registry, io, options, state, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync([...request.argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof LoadError) return internalError(io, error.prefix, error.cause);
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return 0;
      // `mal` or `mal zoo` alone: commander printed the list of commands on stderr.
      if (error.code === 'commander.help') return error.exitCode === 0 ? 0 : EXIT_USAGE;
      io.err(`${state.prefix}: ${commanderMessage(error, state.flags)}`);
      io.err(`Run '${state.prefix} --help' for usage.`);
      return EXIT_USAGE;
    }
    // A UsageError is a MalError with exit code 2.
    if (error instanceof MalError) {
      io.err(`${state.prefix}: ${error.message}`);
      return error.exitCode;
    }
    // The last net for a file-system error no command caught: it names its path, so it is the user's to fix.
    const escaped = unhandledFileSystemError(error);
    if (escaped !== undefined) {
      io.err(`${state.prefix}: ${escaped.message}`);
      return escaped.exitCode;
    }
    return internalError(io, state.prefix, error);
  }
}

/** What Node's file-system calls were doing, in words, for an errno error that carries its path. */
const SYSCALL_WORDS: Readonly<Record<string, string>> = {
  open: 'open',
  read: 'read',
  write: 'write',
  stat: 'read',
  lstat: 'read',
  scandir: 'list the folder',
  mkdir: 'create the folder',
  rename: 'rename onto',
  unlink: 'remove',
  rmdir: 'remove',
  rm: 'remove',
  symlink: 'link',
  realpath: 'resolve',
  copyfile: 'copy',
};

function unhandledFileSystemError(error: unknown): MalError | undefined {
  const path = (error as { path?: unknown } | null)?.path;
  if (errnoCode(error) === undefined || typeof path !== 'string') return undefined;
  const syscall = (error as { syscall?: unknown }).syscall;
  const doing = typeof syscall === 'string' ? (SYSCALL_WORDS[syscall] ?? syscall) : 'use';
  return fileSystemError(path, error, doing);
}

/** What the parse has reached: the command errors are reported for, and the flags (no value) it knows. */
interface ParseState {
  /** `mal`, `mal zoo`, `mal zoo ls`: the words dispatched so far. */
  prefix: string;
  /** `--json`: the long options of the dispatched command that take no value. */
  flags: ReadonlySet<string>;
}

/** A command module failed to load: an internal error of that command. */
class LoadError extends Error {
  constructor(
    readonly prefix: string,
    override readonly cause: unknown,
  ) {
    super(`${prefix}: could not load the command`);
  }
}

function internalError(io: CommandIO, prefix: string, error: unknown): number {
  io.err(`${prefix}: internal error: ${(error as Error)?.stack ?? String(error)}`);
  return EXIT_INTERNAL;
}

/** `error: unknown command 'inpsect'\n(Did you mean inspect?)` → `unknown command 'inpsect' (did you mean inspect?)` */
function commanderMessage(error: CommanderError, flags: ReadonlySet<string>): string {
  if (error.code === 'commander.unknownOption') {
    // `--json=yes`: commander reads a flag with a value as an unknown option.
    const withValue = /unknown option '(--[^=']+)=/.exec(error.message);
    if (withValue !== null && flags.has(withValue[1] as string)) {
      const given = /unknown option '([^']*)'/.exec(error.message)?.[1];
      return `${withValue[1]} takes no value, got '${given}'`;
    }
  }
  return error.message
    .replace(/^error: /, '')
    .replace(/\n\(Did you mean /g, ' (did you mean ')
    .replace(/\n/g, ' ');
}

const HELP_FLAGS = new Set(['-h', '--help']);

/**
 * The arguments commander parses. `mal help [command [sub]]` and `mal <group> help [sub]` are
 * `mal command sub --help`; a word that names no command drops the help request, so that commander answers
 * "unknown command" (with a suggestion) as it does for `mal nosuch`, instead of printing the help of the level
 * above.
 */
function helpRequest(
  argv: readonly string[],
  registry: readonly RegistryEntry[],
): { readonly argv: readonly string[] } | { readonly error: string } {
  const entry = (word: string | undefined) => registry.find((e) => e.name === word);
  const first = entry(argv[0]);
  let words: readonly string[] | undefined;
  if (argv[0] === 'help') words = argv.slice(1);
  else if (first !== undefined && isGroup(first) && argv[1] === 'help')
    words = [first.name, ...argv.slice(2)];
  if (words === undefined) return { argv: withoutHelpAfterUnknown(argv, registry) };
  // `mal help`, `mal help help`.
  if (words.length === 0 || (words.length === 1 && words[0] === 'help')) return { argv: ['--help'] };
  const named = entry(words[0]);
  if (named === undefined) return { argv: words.slice(0, 1) };
  if (!isGroup(named)) {
    if (words.length > 1) return { error: `too many arguments: '${named.name}' has no subcommands` };
    return { argv: [named.name, '--help'] };
  }
  if (words.length === 1) return { argv: [named.name, '--help'] };
  if (!named.subcommands.some((s) => s.name === `${named.name} ${words[1]}`))
    return { argv: words.slice(0, 2) };
  if (words.length > 2)
    return { error: `too many arguments: '${named.name} ${words[1]}' has no subcommands` };
  return { argv: [named.name, words[1] as string, '--help'] };
}

/** `mal nosuch --help`, `mal zoo lss --help`: the unknown command is the error, not a reason to print help. */
function withoutHelpAfterUnknown(
  argv: readonly string[],
  registry: readonly RegistryEntry[],
): readonly string[] {
  const isWord = (word: string | undefined) => word !== undefined && !word.startsWith('-');
  const first = registry.find((e) => e.name === argv[0]);
  const unknown =
    (isWord(argv[0]) && first === undefined) ||
    (first !== undefined &&
      isGroup(first) &&
      isWord(argv[1]) &&
      !first.subcommands.some((s) => s.name === `${first.name} ${argv[1]}`));
  return unknown ? argv.filter((word) => !HELP_FLAGS.has(word)) : argv;
}

function buildProgram(
  registry: readonly RegistryEntry[],
  io: CommandIO,
  options: ProgramOptions,
  state: ParseState,
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
      getOutHelpWidth: () => HELP_WIDTH,
      getErrHelpWidth: () => HELP_WIDTH,
    })
    .configureHelp({
      subcommandTerm: (cmd) => cmd.name(),
      formatHelp: (cmd, helper) =>
        cmd === program ? topLevelHelp(registry, options) : help.formatHelp(cmd, helper),
    });
  // Commander dispatches (after `--` too, as in `mal -- inspect`); the hook then loads the one command named.
  const lazy = new Map<Commander, LazyCommand>();
  const names = new Map<Commander, string>();
  const dispatch = async (_parent: Commander, cmd: Commander) => {
    state.prefix = `mal ${names.get(cmd) ?? cmd.name()}`;
    const command = lazy.get(cmd);
    if (command === undefined) return;
    let definition: CommandDefinition;
    try {
      definition = await command.load();
    } catch (error) {
      throw new LoadError(state.prefix, error);
    }
    define(cmd, definition, io, state, onExit);
  };
  program.hook('preSubcommand', dispatch);
  for (const entry of registry) {
    const cmd = program.command(entry.name).description(entry.summary).summary(entry.summary);
    names.set(cmd, entry.name);
    if (isGroup(entry)) {
      // `mal zoo help ls` is rewritten to `mal zoo ls --help` (helpRequest): no commander help command.
      cmd.helpCommand(false).hook('preSubcommand', dispatch);
      for (const sub of entry.subcommands) {
        const word = sub.name.split(' ').pop() ?? sub.name;
        const subCmd = cmd.command(word).description(sub.summary).summary(sub.summary);
        names.set(subCmd, sub.name);
        lazy.set(subCmd, sub);
      }
    } else {
      lazy.set(cmd, entry);
    }
  }
  return program;
}

/** Gives a registered command its arguments, options and action from the loaded definition. */
function define(
  cmd: Commander,
  definition: CommandDefinition,
  io: CommandIO,
  state: ParseState,
  onExit: (code: number) => void,
): void {
  const usage = (message: string) =>
    new UsageError(`${message}\nRun 'mal ${definition.name} --help' for usage.`);
  cmd.description(definition.summary);
  for (const name of definition.positionals) cmd.argument(`<${name}>`);
  const attributes = new Map<string, string>();
  const flags = new Set(['--help']);
  for (const [name, spec] of Object.entries(definition.options)) {
    const flagsTerm = spec.type === 'boolean' ? `--${name}` : `--${name} <${valueNameOf(spec)}>`;
    const option = new Option(flagsTerm, optionHelp(spec));
    if (spec.type === 'boolean') {
      flags.add(`--${name}`);
    } else {
      // No option is repeatable: a second value would silently replace the first.
      option.argParser((value: string, previous: unknown) => {
        if (previous !== undefined) throw usage(`--${name} is given twice`);
        return value;
      });
    }
    attributes.set(name, option.attributeName());
    cmd.addOption(option);
  }
  state.flags = flags;
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
      if (error instanceof UsageError) throw usage(error.message);
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
  // `  name  summary`, the summary wrapped with a hanging indent under its first word.
  const row = (name: string, summary: string) =>
    `  ${name.padEnd(width)}  ${wrap(summary, HELP_WIDTH - width - 4).join(`\n${' '.repeat(width + 4)}`)}`;
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
    ...rows.map(([name, summary]) => row(name, summary)),
    '',
    'Options:',
    ...optionRows.map(([name, summary]) => row(name, summary)),
    '',
    "Run 'mal <command> --help' for a command's options.",
    '',
  ].join('\n');
}

/** Splits text at spaces into lines of at most `width` characters (a longer word stays whole). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  lines.push(line);
  return lines;
}
