/**
 * Crash consistency of `mal merge --out <folder>` when the layout changes between runs (another shard count, one
 * file after shards, shards after one file): the run is killed with SIGKILL (MAL_FAULT_AT,
 * src/io/fault-injection.ts) at the write, link and switch points of its publication (every point with
 * MAL_CRASH_SWEEP=all) over a folder holding the older model. At each kill the folder must load as a whole model, the older one or the new one: the names a
 * loader follows (the index and the shards it lists, or model.safetensors) never point into different sets or
 * at nothing.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openModel } from '../../src/io/open-model.js';
import { type LlamaShapedPair, writeLlamaShapedPair } from '../../src/zoo/llama-shaped-pair.js';
import { malArgv, root } from '../support/mal-cli.js';
import { runMal } from '../support/run-mal.js';

let dir: string;
let pair: LlamaShapedPair;

/** The merge's arguments; `--max-shard-size` when `shardBytes` is given, else the default, which fits one file. */
function mergeArgs(out: string, lambda: string, shardBytes?: number): string[] {
  return [
    'merge',
    pair.base,
    pair.target,
    '--lambda',
    lambda,
    '--maps',
    join(dir, 'aligned', 'maps.json'),
    '--out',
    out,
    ...(shardBytes === undefined ? [] : ['--max-shard-size', String(shardBytes)]),
  ];
}

/** A digest of every tensor the folder loads as (names and bytes), or the error that stops it loading. */
async function loadedDigest(folder: string): Promise<string> {
  let source: Awaited<ReturnType<typeof openModel>>;
  try {
    source = await openModel(folder);
  } catch (error) {
    return `does not load: ${(error as Error).message}`;
  }
  try {
    const hash = createHash('sha256');
    for (const name of [...source.tensorNames()].sort()) {
      hash.update(name);
      hash.update((await source.read(name)).bytes);
    }
    return hash.digest('hex');
  } catch (error) {
    return `does not read: ${(error as Error).message}`;
  } finally {
    await source.close();
  }
}

function runChild(args: readonly string[], env: Record<string, string>): Promise<NodeJS.Signals | null> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...malArgv, ...args], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: 'ignore',
    });
    child.on('exit', (_code, signal) => resolve(signal));
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mal-merge-crash-'));
  pair = await writeLlamaShapedPair(dir, {
    blocks: 2,
    hidden: 64,
    intermediate: 96,
    heads: 4,
    kvHeads: 2,
    vocab: 32,
    seed: 1,
    noise: 0.01,
    maxShardBytes: 50_000,
  });
  const aligned = await runMal(['align', pair.base, pair.target, '--out', join(dir, 'aligned')]);
  expect(aligned.code, aligned.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * The points to kill at: all of them with MAL_CRASH_SWEEP=all, else one of each kind around the switch (a file
 * written, a link made before it, the switch, just after it, the old set's removal).
 */
function chosen(points: readonly string[]): number[] {
  if (process.env.MAL_CRASH_SWEEP === 'all') return points.map((_, i) => i + 1);
  const kinds = [
    / write /,
    / link .*: done$/,
    / switch to the new set$/,
    / switch to the new set: done$/,
    / remove /,
  ];
  return kinds.flatMap((kind) => {
    const at = points.findIndex((p) => kind.test(p));
    return at < 0 ? [] : [at + 1];
  });
}

/** Layout changes a rerun may make: older shard size (undefined: one file) → newer one. */
const CHANGES: { name: string; older?: number; newer?: number }[] = [
  { name: '5 shards → 2', older: 30_000, newer: 70_000 },
  { name: 'shards → one file', older: 30_000 },
  { name: 'one file → shards', newer: 30_000 },
];

describe('mal merge to a folder killed while publishing a new layout', () => {
  for (const change of CHANGES) {
    it(`${change.name}: loads as the older model or the new one wherever it is killed`, async () => {
      const older = join(dir, `older-${change.name}`);
      const newer = join(dir, `newer-${change.name}`);
      expect((await runMal(mergeArgs(older, '0.2', change.older))).code).toBe(0);
      expect((await runMal(mergeArgs(newer, '0.7', change.newer))).code).toBe(0);
      const expected = [await loadedDigest(older), await loadedDigest(newer)];
      expect(expected[0]).not.toBe(expected[1]);

      const counted = join(dir, `counted-${change.name}`);
      await cp(older, counted, { recursive: true, verbatimSymlinks: true });
      const log = join(dir, `points-${change.name}.log`);
      expect(await runChild(mergeArgs(counted, '0.7', change.newer), { MAL_FAULT_LOG: log })).toBeNull();
      const points = (await readFile(log, 'utf8')).trim().split('\n');
      expect(points.some((p) => p.includes('switch to the new set'))).toBe(true);

      for (const n of chosen(points)) {
        const out = join(dir, `killed-${change.name}-${n}`);
        await cp(older, out, { recursive: true, verbatimSymlinks: true });
        const signal = await runChild(mergeArgs(out, '0.7', change.newer), { MAL_FAULT_AT: String(n) });
        expect(signal, `point ${points[n - 1]}`).toBe('SIGKILL');
        expect(expected, `after a kill at ${points[n - 1]}`).toContain(await loadedDigest(out));
        await rm(out, { recursive: true, force: true });
      }
    }, 300_000);
  }
});
