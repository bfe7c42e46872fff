import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gnuTimeAvailable } from '../../bench/child-peak.js';

const root = join(import.meta.dirname, '..', '..');
let scratch: string;

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The bench as `npx tsx bench/llm-alignment.ts` runs it, with its temporary folders under `scratch`. */
function bench(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', join(root, 'bench', 'llm-alignment.ts'), ...args],
      { cwd: root, env: { ...process.env, TMPDIR: scratch } },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr }),
    );
  });
}

/** What the bench and the commands it runs left in the temporary folder (tsx keeps its cache there too). */
async function benchLeftovers(): Promise<string[]> {
  return (await readdir(scratch)).filter((name) => !name.startsWith('tsx-'));
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'mal-llm-bench-test-'));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('bench/llm-alignment.ts', () => {
  // It drives bin/mal.js, which runs dist/ (npm test builds it first), and reads peak RSS through GNU time.
  const runnable = existsSync(join(root, 'dist', 'src')) && gnuTimeAvailable();

  it.runIf(runnable)(
    'aligns and merges tiny pairs of 1 and 2 blocks, recovers every unit, and cleans up',
    async () => {
      const run = await bench('--shape', 'small', '--blocks', '1,2');
      expect(run.stderr).toContain('small, 2 blocks: mal merge --maps');
      expect(run.code).toBe(0);
      const rows = run.stdout.split('\n').filter((l) => /^\s+[12]\s/.test(l));
      expect(rows).toHaveLength(2);
      for (const row of rows) expect(row).toMatch(/\d+ MiB .* exact \(\d+ units\)/);
      expect(run.stdout).toContain('recovery: ok');
      expect(run.stdout).toMatch(/align peak RSS, 2 blocks \/ 1 block: \d+\.\d\d×/);
      expect(await benchLeftovers()).toEqual([]);
    },
  );

  it('refuses bad flags with a usage error and writes nothing', async () => {
    for (const args of [['--blocks', '1,0'], ['--shape', '13b'], ['--bogus']]) {
      const run = await bench(...args);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/--blocks|--shape|bogus/);
    }
    expect(await benchLeftovers()).toEqual([]);
  });
});
