/**
 * `mal` in-process: the real program (workers/mal.ts: every core and cluster command, the same parsing, help and
 * exit codes) with its output captured instead of written to this process's streams. Progress lines are dropped,
 * as they are when stderr is not a terminal.
 *
 * `env` and `cwd` apply for the duration of the call only (process.env and process.chdir, restored after), and
 * `stdin` replaces process.stdin with a stream of that text; calls are therefore run one at a time.
 */
import { Readable } from 'node:stream';
import type { CommandIO } from '../../src/cli/command.js';
import { main } from '../../workers/mal.js';

export interface MalRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunMalOptions {
  /** Variables to set (a value) or unset (undefined) while the command runs. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
  readonly stdin?: string;
}

let queue: Promise<unknown> = Promise.resolve();

export function runMal(args: readonly string[], options: RunMalOptions = {}): Promise<MalRun> {
  const run = queue.then(() => runNow(args, options));
  queue = run.catch(() => undefined);
  return run;
}

async function runNow(args: readonly string[], options: RunMalOptions): Promise<MalRun> {
  let stdout = '';
  let stderr = '';
  const io: CommandIO = {
    out: (line) => {
      stdout += `${line}\n`;
    },
    err: (line) => {
      stderr += `${line}\n`;
    },
    progress: () => {},
  };
  const savedEnv = new Map<string, string | undefined>();
  for (const [name, value] of Object.entries(options.env ?? {})) {
    savedEnv.set(name, process.env[name]);
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  const savedCwd = process.cwd();
  if (options.cwd !== undefined) process.chdir(options.cwd);
  const stdinDescriptor = Object.getOwnPropertyDescriptor(process, 'stdin');
  if (options.stdin !== undefined) {
    Object.defineProperty(process, 'stdin', {
      configurable: true,
      enumerable: stdinDescriptor?.enumerable ?? true,
      value: Readable.from([options.stdin]),
    });
  }
  try {
    const code = await main(args, io);
    return { code, stdout, stderr };
  } finally {
    if (options.stdin !== undefined && stdinDescriptor !== undefined) {
      Object.defineProperty(process, 'stdin', stdinDescriptor);
    }
    process.chdir(savedCwd);
    for (const [name, value] of savedEnv) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}
