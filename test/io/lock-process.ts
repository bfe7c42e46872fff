/**
 * Drives test/io/lock-holder-process.ts from a test: starts it, reads its stdout lines as they come, and writes
 * the line that lets it go on.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { root, tsxArgv } from '../support/mal-cli.js';

export interface LockProcess {
  readonly pid: number;
  /** The next stdout line. */
  line(): Promise<string>;
  /** Lets it go on (release the lock, publish the set). */
  proceed(): void;
  /** Its exit code, once it has exited. */
  exited: Promise<number | null>;
  readonly child: ChildProcessWithoutNullStreams;
}

const SCRIPT = join(root, 'test', 'io', 'lock-holder-process.ts');

export function startLockProcess(args: readonly string[]): LockProcess {
  const child = spawn(process.execPath, [...tsxArgv, SCRIPT, ...args], { cwd: root });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += String(chunk);
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    pid: child.pid ?? -1,
    async line() {
      const next = await lines.next();
      if (next.done === true) throw new Error(`the lock process ended without a line; stderr: ${stderr}`);
      return next.value;
    },
    proceed() {
      child.stdin.write('go\n');
    },
    exited,
    child,
  };
}

/** A pid no process has: one of a process that has exited. */
export async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.on('exit', resolve));
  if (child.pid === undefined) throw new Error('no pid');
  return child.pid;
}
