/**
 * `mal` as a separate process, for what only a process shows (exit codes, signals, EPIPE, worker processes).
 * Run alone (`npx vitest run …`), it starts from the sources through tsx (workers/mal.ts), so it never runs a stale
 * dist/. `npm test` builds dist/ just before the tests and sets MAL_TEST_CLI=dist: children then start bin/mal.js,
 * the installed entry point, about a second sooner each (the suite starts a few hundred). Most tests use the
 * in-process runMal (run-mal.ts) instead.
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { MalRun } from './run-mal.js';

export type { MalRun } from './run-mal.js';

export const root = join(import.meta.dirname, '..', '..');

/** The node arguments that run a TypeScript file of this repository: tsx's ESM loader by absolute URL. */
export const tsxArgv: readonly string[] = [
  '--import',
  pathToFileURL(
    join(dirname(createRequire(import.meta.url).resolve('tsx/package.json')), 'dist', 'loader.mjs'),
  ).href,
];

/** True when `npm test` has just built dist/ for these tests (see above). */
export const malFromDist = process.env.MAL_TEST_CLI === 'dist';

/** The node arguments that start `mal`: spawn(process.execPath, [...malArgv, 'worker', …]). */
export const malArgv: readonly string[] = malFromDist
  ? [join(root, 'bin', 'mal.js')]
  : [...tsxArgv, join(root, 'workers', 'mal.ts')];

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
