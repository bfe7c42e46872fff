/**
 * `mal zoo train --arch gpt2` killed (kill -9, MAL_FAULT_AT) at each point where it writes or publishes the model, then
 * run again: the rerun must succeed and leave the files of an uninterrupted run, with no half-written folder.
 * Real child processes (test/support/mal-cli.ts says which entry point they start).
 */
import { execFile } from 'node:child_process';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { malArgv, root } from '../support/mal-cli.js';
import { scratch } from './zoo-fixtures.js';

interface ProcessRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
}

function malProcess(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<ProcessRun> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [...malArgv, ...args],
      { cwd: root, env: { ...process.env, ...env } },
      (_error, _stdout, stderr) => {
        resolve({ code: child.exitCode, signal: child.signalCode, stderr });
      },
    );
  });
}

/** Every file under `folder`, by path, with its bytes; zoo.json left out (it records the time of the run). */
async function modelFiles(folder: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  const walk = async (dir: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const path = join(dir, name);
      if ((await stat(path)).isDirectory()) await walk(path);
      else if (name !== 'zoo.json') files[relative(folder, path)] = (await readFile(path)).toString('base64');
    }
  };
  await walk(folder);
  return files;
}

let dir: { path: string; remove: () => Promise<void> };
beforeEach(async () => {
  dir = await scratch();
});
afterEach(async () => {
  await dir.remove();
});

describe('mal zoo train --arch gpt2 killed while it writes the model', () => {
  it('a rerun succeeds with the files of an uninterrupted run', async () => {
    const text = join(dir.path, 'corpus.txt');
    await writeFile(text, 'the quick brown fox jumps over the lazy dog.\n'.repeat(20));
    const args = (zoo: string) => [
      ...['zoo', 'train', '--zoo', zoo, '--arch', 'gpt2', '--width', '8', '--heads', '2'],
      ...['--layers', '1', '--context', '8', '--data', `text:${text}`, '--eval', `text:${text}`],
      ...['--eval-limit', '2', '--epochs', '1', '--seed', '1', '--backend', 'wasm', '--id', 'm'],
    ];
    const reference = join(dir.path, 'reference');
    const log = join(dir.path, 'points.log');
    expect((await malProcess(args(reference), { MAL_FAULT_LOG: log })).code).toBe(0);
    const expected = await modelFiles(reference);
    const points = (await readFile(log, 'utf8'))
      .split('\n')
      .filter((line) => /model\.safetensors|config\.json|zoo add/.test(line))
      .map((line) => Number(line.split(' ')[0]));
    expect(points.length).toBeGreaterThanOrEqual(6);
    for (const point of points) {
      const zoo = join(dir.path, `zoo-${point}`);
      const interrupted = await malProcess(args(zoo), { MAL_FAULT_AT: String(point) });
      expect({ point, signal: interrupted.signal }).toEqual({ point, signal: 'SIGKILL' });
      const rerun = await malProcess(args(zoo));
      expect({ point, stderr: rerun.stderr, code: rerun.code }).toEqual({ point, stderr: '', code: 0 });
      expect({ point, files: await modelFiles(zoo) }).toEqual({ point, files: expected });
    }
  }, 300_000);
});
