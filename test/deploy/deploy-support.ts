// Shared by the deploy tests: where the files are, the YAML reader, the `mal` commands the CLI defines, and a
// checker for `mal …` argument lists in compose and Kubernetes files.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const DEPLOY = join(ROOT, 'deploy');

/** The variables the CLI reads for its connections (docs/cluster.md); every mal container gets them. */
export const CONNECTION_ENV = [
  'MAL_NATS_URL',
  'MAL_TEMPORAL_ADDRESS',
  'MAL_TEMPORAL_NAMESPACE',
  'MAL_TASK_QUEUE',
  'MAL_DATA_DIR',
] as const;

/** Every document of a YAML file, as plain values; a syntax error or warning fails the caller. */
export function readYamlDocuments(path: string): unknown[] {
  const text = readFileSync(path, 'utf8');
  const docs = parseAllDocuments(text, { merge: true, prettyErrors: true });
  const out: unknown[] = [];
  for (const doc of docs) {
    const problems = [...doc.errors, ...doc.warnings];
    if (problems.length > 0) {
      throw new Error(`${path}: ${problems.map((p) => p.message).join('\n')}`);
    }
    const value = doc.toJS({ maxAliasCount: 100 });
    if (value !== null && value !== undefined) out.push(value);
  }
  return out;
}

export function readYaml(path: string): unknown {
  const docs = readYamlDocuments(path);
  if (docs.length !== 1) throw new Error(`${path}: expected one YAML document, found ${docs.length}`);
  return docs[0];
}

export type Json = Record<string, unknown>;

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function obj(value: unknown, what: string): Json {
  if (!isObject(value)) throw new Error(`${what}: expected a mapping, got ${JSON.stringify(value)}`);
  return value;
}

export function arr(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new Error(`${what}: expected a list, got ${JSON.stringify(value)}`);
  return value;
}

/** A `mal` subcommand as the CLI defines it: its name (one or two words) and its option names. */
export interface CliCommand {
  readonly name: string;
  readonly options: ReadonlySet<string>;
}

/**
 * The commands the `mal` program registers (workers/mal.ts: the core and the cluster commands), each definition
 * loaded, so a deploy file can only name commands and options the CLI really has.
 */
export async function cliCommands(): Promise<Map<string, CliCommand>> {
  const { malCommands } = await import('../../workers/mal.js');
  const { isGroup } = await import('../../src/cli/command.js');
  const found = new Map<string, CliCommand>();
  for (const entry of malCommands) {
    for (const lazy of isGroup(entry) ? entry.subcommands : [entry]) {
      const definition = await lazy.load();
      found.set(definition.name, {
        name: definition.name,
        options: new Set(Object.keys(definition.options)),
      });
    }
  }
  return found;
}

/**
 * Problems with a `mal` argument list (`['worker', '--pool', 'cpu']`): an unknown command, an option the command
 * does not define. Values are not checked beyond being present.
 */
export function checkMalArgs(args: readonly string[], commands: ReadonlyMap<string, CliCommand>): string[] {
  const [first, second] = args;
  if (first === undefined) return ['no mal command given'];
  const command =
    (second !== undefined ? commands.get(`${first} ${second}`) : undefined) ?? commands.get(first);
  if (command === undefined) {
    return [
      `'mal ${first}' is not a command workers/mal.ts registers (known: ${[...commands.keys()].join(', ')})`,
    ];
  }
  const problems: string[] = [];
  const rest = args.slice(command.name.split(' ').length);
  for (const arg of rest) {
    if (!arg.startsWith('--')) continue;
    const name = arg.slice(2).split('=')[0];
    if (name !== 'help' && !command.options.has(name)) {
      problems.push(`'mal ${command.name}' has no option --${name}`);
    }
  }
  return problems;
}
