/**
 * `mal zoo add` as separate processes: two adds of one id at once, and a kill -9 at every write and rename point
 * (MAL_FAULT_AT, src/zoo/fault-point.ts) followed by a rerun. Real child processes (test/support/mal-cli.ts).
 */
import { execFile } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { malArgv, root } from '../support/mal-cli.js';
import { scratch, writeMlpFile, writeShardedMlp } from './zoo-fixtures.js';

interface ProcessRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

function malProcess(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<ProcessRun> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [...malArgv, ...args],
      { cwd: root, env: { ...process.env, ...env } },
      (_error, stdout, stderr) => {
        resolve({ code: child.exitCode, signal: child.signalCode, stdout, stderr });
      },
    );
  });
}

/** Every file under `folder` with its bytes; the manifest's time stamps (the time of each add) made equal. */
async function snapshot(folder: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  const walk = async (dir: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const path = join(dir, name);
      if ((await stat(path)).isDirectory()) await walk(path);
      else {
        const text = (await readFile(path)).toString('base64');
        files[relative(folder, path)] =
          name === 'zoo.json' ? (await readFile(path, 'utf8')).replace(/"at": "[^"]+"/g, '"at": "…"') : text;
      }
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

describe('two mal zoo add processes with the same id', () => {
  it('exactly one wins; the other fails clearly and deletes nothing of the winner', async () => {
    const a = await writeMlpFile(join(dir.path, 'a.safetensors'), [16, 8, 3], 1);
    const b = await writeMlpFile(join(dir.path, 'b.safetensors'), [16, 8, 3], 2);
    for (let round = 0; round < 2; round++) {
      const zoo = join(dir.path, `zoo-${round}`);
      const runs = await Promise.all(
        [a, b].map((source) => malProcess(['zoo', 'add', '--zoo', zoo, '--id', 'same', source])),
      );
      const winners = runs.filter((r) => r.code === 0);
      const losers = runs.filter((r) => r.code !== 0);
      expect(winners.length).toBe(1);
      expect(losers.length).toBe(1);
      expect(losers[0].code).toBe(1);
      expect(losers[0].stderr).toMatch(/already has a model with id 'same'/);
      expect(losers[0].stderr).not.toMatch(/\n\s+at /);
      const winner = runs.indexOf(winners[0]) === 0 ? a : b;
      expect(await readFile(join(zoo, 'models', 'same.safetensors'))).toEqual(await readFile(winner));
      const verify = await malProcess(['zoo', 'verify', '--zoo', zoo]);
      expect(verify.stdout).toContain('1 of 1 models match their hashes');
      expect(await readdir(zoo)).toEqual(['models', 'zoo.json']);
      expect(await readdir(join(zoo, 'models'))).toEqual(['same.safetensors']);
    }
  }, 120_000);

  it('with the same bytes, both succeed and the zoo holds one entry', async () => {
    const a = await writeMlpFile(join(dir.path, 'a.safetensors'), [16, 8, 3], 1);
    const zoo = join(dir.path, 'zoo');
    const runs = await Promise.all(
      [0, 1].map(() => malProcess(['zoo', 'add', '--zoo', zoo, '--id', 'same', a])),
    );
    expect(runs.map((r) => r.code)).toEqual([0, 0]);
    expect(runs.filter((r) => /nothing to do/.test(r.stdout)).length).toBe(1);
    expect(JSON.parse(await readFile(join(zoo, 'zoo.json'), 'utf8')).models.length).toBe(1);
    expect(await readdir(join(zoo, 'models'))).toEqual(['same.safetensors']);
  }, 60_000);
});

describe('mal zoo add killed at every write and rename point', () => {
  it('a rerun ends with the bytes of an uninterrupted add, and no stray files', async () => {
    const source = await writeShardedMlp(join(dir.path, 'sharded'), [6, 4, 3], 1);
    const args = (zoo: string) => ['zoo', 'add', '--zoo', zoo, source, '--id', 'm'];
    const reference = join(dir.path, 'reference');
    expect((await malProcess(args(reference))).code).toBe(0);
    const expected = await snapshot(reference);
    let killed = 0;
    for (let point = 1; ; point++) {
      const zoo = join(dir.path, `zoo-${point}`);
      const interrupted = await malProcess(args(zoo), { MAL_FAULT_AT: String(point) });
      if (interrupted.signal !== 'SIGKILL') {
        // Past the last point: the run went through untouched.
        expect(interrupted.code).toBe(0);
        break;
      }
      killed += 1;
      const rerun = await malProcess(args(zoo));
      expect({ point, stderr: rerun.stderr, code: rerun.code }).toEqual({ point, stderr: '', code: 0 });
      const files = await snapshot(zoo);
      expect({ point, names: Object.keys(files) }).toEqual({ point, names: Object.keys(expected) });
      expect({ point, files }).toEqual({ point, files: expected });
    }
    // Creating the zoo, staging, copying each file, the lock, the rename and the manifest write.
    expect(killed).toBeGreaterThanOrEqual(10);
  }, 300_000);
});
