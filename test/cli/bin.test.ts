/**
 * bin/mal.js, the installed entry point, runs the compiled program in dist/. This file builds dist/ first (tsc), so
 * it never tests a stale build, unless `npm test` has just built it (MAL_TEST_CLI=dist): other files' processes
 * then run bin/mal.js, and rebuilding under them would rewrite files they are loading.
 */
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { malFromDist, root } from '../support/mal-cli.js';
import type { MalRun } from '../support/run-mal.js';

function bin(...args: string[]): Promise<MalRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(root, 'bin', 'mal.js'), ...args],
      { cwd: root },
      (error, stdout, stderr) =>
        resolve({
          code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1,
          stdout,
          stderr,
        }),
    );
  });
}

beforeAll(() => {
  if (malFromDist) return;
  execFileSync(join(root, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'], {
    cwd: root,
    stdio: 'pipe',
  });
}, 300_000);

describe('bin/mal.js', () => {
  it('starts the compiled program: --version, --help, a command', async () => {
    const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
    expect(await bin('--version')).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
    const help = await bin('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^ {2}zoo train +Train a model/m);
    expect(help.stdout).toMatch(/^ {2}worker +Run a task worker/m);
    const inspectHelp = await bin('inspect', '--help');
    expect(inspectHelp.code).toBe(0);
    expect(inspectHelp.stdout).toContain('Usage: mal inspect [options] <model>');
    const inspect = await bin('inspect', join(root, 'examples', 'models', 'mlp-base'), '--json');
    expect(inspect.code, inspect.stderr).toBe(0);
    expect(JSON.parse(inspect.stdout).spec.family).toBe('mlp');
    const typo = await bin('inpsect');
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('did you mean inspect?');
  });
});
