import type { CommandDefinition, CommandIO, RegistryEntry } from '../../src/cli/command.js';
import { runProgram } from '../../src/cli/program.js';

export interface CommandRun {
  readonly code: number;
  readonly out: string[];
  readonly err: string[];
  readonly progress: string[];
}

/**
 * Runs one command definition through the real program (parsing, checks, help, exit codes) with captured output,
 * progress lines included (a terminal would draw them; test/support/run-mal.ts drops them like a pipe).
 */
export async function runCommand(command: CommandDefinition, argv: readonly string[]): Promise<CommandRun> {
  const out: string[] = [];
  const err: string[] = [];
  const progress: string[] = [];
  const io: CommandIO = {
    out: (line) => out.push(...line.split('\n')),
    err: (line) => err.push(...line.split('\n')),
    progress: (line) => progress.push(line),
  };
  const words = command.name.split(' ');
  const lazy = { name: command.name, summary: command.summary, load: async () => command };
  const registry: RegistryEntry[] =
    words.length === 1 ? [lazy] : [{ name: words[0], summary: '', subcommands: [lazy] }];
  const code = await runProgram([...words, ...argv], registry, io, { version: 'test' });
  return { code, out, err, progress };
}
