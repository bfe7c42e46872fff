/**
 * `mal` as a separate process, for what only a process shows (exit codes, signals, EPIPE, worker processes).
 * It runs from the sources through tsx (workers/mal.ts), so it never runs a stale dist/; most tests use the
 * in-process runMal (run-mal.ts) instead. test/cli/bin.test.ts builds dist/ first and checks bin/mal.js itself.
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { MalRun } from './run-mal.js';

export type { MalRun } from './run-mal.js';

export const root = join(import.meta.dirname, '..', '..');

/** tsx's ESM loader by absolute URL, so that a child started in another folder finds it. */
const tsxLoader = pathToFileURL(
  join(dirname(createRequire(import.meta.url).resolve('tsx/package.json')), 'dist', 'loader.mjs'),
).href;

/** The node arguments that start `mal` from the sources: spawn(process.execPath, [...malArgv, 'worker', …]). */
export const malArgv: readonly string[] = ['--import', tsxLoader, join(root, 'workers', 'mal.ts')];

export interface SpawnMalOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
}

export function mal(...args: string[]): Promise<MalRun> {
  return spawnMal(args);
}

export function spawnMal(args: readonly string[], options: SpawnMalOptions = {}): Promise<MalRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...malArgv, ...args],
      { cwd: options.cwd ?? root, env: options.env ?? process.env, maxBuffer: 64 * 2 ** 20 },
      (error, stdout, stderr) => {
        resolve({
          code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1,
          stdout,
          stderr,
        });
      },
    );
  });
}
