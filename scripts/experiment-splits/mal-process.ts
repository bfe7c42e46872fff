/**
 * `mal` as a child process run from the sources through tsx (workers/mal.ts), as a user would run it, so the
 * experiment exercises the CLI itself and never a stale dist/. Each command is its own process: a failed one
 * cannot leave state behind in the experiment's process.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MalError } from '../../src/errors.js';

/** A `mal` command of the experiment exited non-zero. */
export class MalCommandError extends MalError {
  override readonly name = 'MalCommandError';
  constructor(
    readonly args: readonly string[],
    readonly code: number,
    readonly stderr: string,
  ) {
    super(
      `'mal ${args.join(' ')}' exited with code ${code}${stderr.trim() === '' ? '' : `:\n${stderr.trim()}`}\nFix the cause and run the experiment again; finished work is kept.`,
    );
  }
}

export interface MalResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

const tsxLoader = pathToFileURL(
  join(dirname(createRequire(import.meta.url).resolve('tsx/package.json')), 'dist', 'loader.mjs'),
).href;

export function malRunner(root: string) {
  const argv = ['--import', tsxLoader, join(root, 'workers', 'mal.ts')];
  /**
   * Runs one command. `echo` passes its stderr (progress, warnings) through to ours as it comes; its stdout is
   * returned, and printed too when `echo` is set.
   */
  const run = (args: readonly string[], options: { echo: boolean }): Promise<MalResult> =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [...argv, ...args], {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk;
        if (options.echo) process.stderr.write(indent(chunk));
      });
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk;
        if (options.echo) process.stderr.write(indent(chunk));
      });
      child.on('error', reject);
      child.on('close', (code, signal) => {
        resolve({ code: code ?? (signal === null ? 1 : 128), stdout, stderr });
      });
    });
  return {
    /** Runs the command and throws MalCommandError if it fails. */
    async check(args: readonly string[]): Promise<string> {
      const result = await run(args, { echo: true });
      if (result.code !== 0) throw new MalCommandError(args, result.code, result.stderr);
      return result.stdout;
    },
    /** Runs the command quietly and returns how it ended, for commands whose failure is an answer. */
    try(args: readonly string[]): Promise<MalResult> {
      return run(args, { echo: false });
    },
  };
}

export type MalRunner = ReturnType<typeof malRunner>;

function indent(text: string): string {
  return text.replace(/^(?=.)/gm, '    ');
}
