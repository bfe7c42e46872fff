import { MalError } from '../errors.js';
import { type Command, type CommandIO, parseCommandArgs, usageOf } from './command.js';
import { alignCommand } from './commands/align.js';
import { assembleCommand } from './commands/assemble.js';
import { evalCommand } from './commands/eval.js';
import { inspectCommand } from './commands/inspect.js';
import { lmcCommand } from './commands/lmc.js';
import { mergeCommand } from './commands/merge.js';
import { runControlCommands } from './commands/run-control.js';
import { scheduleCommands } from './commands/schedule.js';
import { statusCommand } from './commands/status.js';
import { submitCommand } from './commands/submit.js';
import { temporalWorkerCommand } from './commands/temporal-worker.js';
import { workerCommand } from './commands/worker.js';
import { zooCommands } from './commands/zoo.js';

const commands: readonly Command[] = [
  inspectCommand,
  alignCommand,
  mergeCommand,
  evalCommand,
  lmcCommand,
  assembleCommand,
  ...zooCommands,
  submitCommand,
  statusCommand,
  ...runControlCommands,
  temporalWorkerCommand,
  ...scheduleCommands,
  workerCommand,
];

function mainUsage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'Usage: mal <command> [options]',
    '',
    'Model Assembly Learning: align and merge neural networks of different architectures and widths.',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary.split('. ')[0].replace(/\.$/, '')}`),
    '',
    "Run 'mal <command> --help' for a command's options.",
  ].join('\n');
}

/** A terminal gets a redrawn progress line; pipes and files get only the results. */
function consoleIO(): CommandIO {
  // A reader that stops early (`mal inspect … | head`) is not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  const interactive = process.stderr.isTTY === true;
  let pending = false;
  const clear = (): void => {
    if (pending) process.stderr.write('\r\x1b[K');
    pending = false;
  };
  return {
    out: (line) => {
      clear();
      process.stdout.write(`${line}\n`);
    },
    err: (line) => {
      clear();
      process.stderr.write(`${line}\n`);
    },
    progress: (line) => {
      if (!interactive) return;
      process.stderr.write(`\r\x1b[K${line.slice(0, (process.stderr.columns ?? 100) - 1)}`);
      pending = true;
    },
  };
}

export async function main(argv: readonly string[]): Promise<number> {
  const io = consoleIO();
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(mainUsage());
    return name === undefined ? 2 : 0;
  }
  // Two-word commands (`zoo train`) are matched on their first two arguments.
  const command =
    commands.find((c) => c.name === name) ?? commands.find((c) => c.name === `${name} ${rest[0]}`);
  if (command === undefined) {
    const sub = commands.filter((c) => c.name.startsWith(`${name} `));
    if (sub.length > 0) {
      io.err(
        `mal ${name}: name a subcommand: ${sub.map((c) => c.name.slice(name.length + 1)).join(', ')} (each has --help)`,
      );
      return 2;
    }
    io.err(`mal: unknown command '${name}'\n\n${mainUsage()}`);
    return 2;
  }
  try {
    const args = parseCommandArgs(command, command.name.includes(' ') ? rest.slice(1) : rest);
    if (args === 'help') {
      io.out(usageOf(command));
      return 0;
    }
    return await command.run(args, io);
  } catch (e) {
    if (e instanceof MalError) {
      io.err(`mal ${command.name}: ${e.message}`);
      return e.exitCode;
    }
    io.err(`mal ${command.name}: internal error: ${(e as Error).stack ?? String(e)}`);
    return 70;
  }
}
