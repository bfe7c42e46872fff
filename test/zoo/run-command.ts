import { type Command, type CommandIO, parseCommandArgs, usageOf } from '../../src/cli/command.js';
import { MalError } from '../../src/errors.js';

export interface CommandRun {
  readonly code: number;
  readonly out: string[];
  readonly err: string[];
  readonly progress: string[];
}

/** Runs a command object as main.ts does (parse, help, MalError → message and exit code) with captured output. */
export async function runCommand(command: Command, argv: readonly string[]): Promise<CommandRun> {
  const out: string[] = [];
  const err: string[] = [];
  const progress: string[] = [];
  const io: CommandIO = {
    out: (line) => out.push(line),
    err: (line) => err.push(line),
    progress: (line) => progress.push(line),
  };
  try {
    const args = parseCommandArgs(command, argv);
    if (args === 'help') {
      out.push(usageOf(command));
      return { code: 0, out, err, progress };
    }
    return { code: await command.run(args, io), out, err, progress };
  } catch (error) {
    if (error instanceof MalError) {
      err.push(`mal ${command.name}: ${error.message}`);
      return { code: error.exitCode, out, err, progress };
    }
    throw error;
  }
}
