/**
 * Crash consistency of `mal assemble`: the run is killed with SIGKILL (MAL_FAULT_AT, src/io/fault-injection.ts) at
 * write and rename points of the atomic-file layer and of the output publishing, over an output folder that holds
 * an older run's outputs. At the kill, the visible files are all of the old set or all of the new, never a mix;
 * a rerun then ends with the same bytes as an uninterrupted run and no stray files.
 *
 * npm test kills at a spread sample of the points (each kind: a store write, an output write and rename, between
 * two outputs, the switch, the removal of the old set); MAL_CRASH_SWEEP=all kills at every point.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ASSEMBLY_OUTPUT_FILES } from '../../src/engine/assembly-outputs.js';
import { malArgv, root } from '../support/mal-cli.js';
import { runMal } from '../support/run-mal.js';

let dir: string;
let plan: string;
/** The bytes of each published file of an uninterrupted run (step times blanked), and of the older run. */
let fresh: Map<string, string>;
let older: Map<string, string>;
let freshListing: string[];
let points: string[];

function tinyPlan(base: string): string {
  return [
    `base: ${join(root, 'zoo/demo/models', base)}`,
    `zoo: ${join(root, 'zoo/demo')}`,
    'objective:',
    '  tasks:',
    '    - {data: fashion-mnist:val, metric: loss, weight: 1, limit: 200}',
    'candidates: {policy: same-depth, topK: 1, probeExamples: 32}',
    'merge: {grid: "0:0.5:1", lambdaMin: 0.1}',
    'steps: 1',
    `output: ${join(dir, 'unused')}`,
    '',
  ].join('\n');
}

/** A step's wall time is the one value two runs may differ in; it is blanked before comparing. */
function normalised(name: string, bytes: Buffer): string {
  const digest = (text: string) => createHash('sha256').update(text).digest('hex');
  if (name === 'lineage.json')
    return digest(bytes.toString('utf8').replace(/"seconds": [0-9.e+-]+/g, '"seconds": 0'));
  if (name === 'report.html') return digest(bytes.toString('utf8').replace(/\d+(\.\d)? s\b/g, 'T s'));
  return digest(bytes.toString('latin1'));
}

async function published(folder: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of ASSEMBLY_OUTPUT_FILES) {
    const bytes = await readFile(join(folder, name)).catch(() => undefined);
    if (bytes !== undefined) out.set(name, normalised(name, bytes));
  }
  return out;
}

/** The output folder's names, the set folder's generated name replaced, the step store left out. */
async function listing(folder: string): Promise<string[]> {
  return (await readdir(folder))
    .filter((n) => n !== 'store')
    .map((n) => (n.startsWith('.mal-set-') ? '.mal-set-*' : n))
    .sort();
}

function runChild(out: string, env: Record<string, string>): Promise<NodeJS.Signals | null> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...malArgv, 'assemble', plan, '--out', out], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: 'ignore',
    });
    child.on('exit', (_code, signal) => resolve(signal));
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mal-crash-sweep-'));
  plan = join(dir, 'plan.yaml');
  await writeFile(plan, tinyPlan('base-mlp-h128x128-fmnist-weak.safetensors'));
  const olderPlan = join(dir, 'older-plan.yaml');
  // Another base: another model, lineage, card and report in the folder the killed runs start from.
  await writeFile(olderPlan, tinyPlan('mlp-h128x128-s1-mnist.safetensors'));
  const first = await runMal(['assemble', olderPlan, '--out', join(dir, 'older')]);
  expect(first.code, first.stderr).toBe(0);
  older = await published(join(dir, 'older'));
  const reference = await runMal(['assemble', plan, '--out', join(dir, 'fresh')]);
  expect(reference.code, reference.stderr).toBe(0);
  fresh = await published(join(dir, 'fresh'));
  freshListing = await listing(join(dir, 'fresh'));
  expect(fresh).not.toEqual(older);
  // Count the points of a run over the older outputs, as each killed run below starts.
  const counted = join(dir, 'counted');
  await cp(join(dir, 'older'), counted, { recursive: true, verbatimSymlinks: true });
  const log = join(dir, 'points.log');
  expect(await runChild(counted, { MAL_FAULT_LOG: log })).toBeNull();
  points = (await readFile(log, 'utf8')).trim().split('\n');
}, 300_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The points to kill at: all of them, or one of each kind. */
function chosen(): number[] {
  if (process.env.MAL_CRASH_SWEEP === 'all') return points.map((_, i) => i + 1);
  const kinds = [
    /^\d+ write .*\.safetensors$/, // a step-store object
    /^\d+ rename model\.safetensors$/,
    /^\d+ write lineage\.json$/, // between two outputs of the set
    /^\d+ switch to the new set$/,
    /^\d+ switch to the new set: done$/,
    /^\d+ remove the previous set$/,
  ];
  return kinds.map((kind) => {
    const line = points.find((p) => kind.test(p));
    if (line === undefined) throw new Error(`no fault point matches ${kind}; points: ${points.join('; ')}`);
    return Number(line.split(' ')[0]);
  });
}

describe('mal assemble killed at a write or rename point', () => {
  it('shows the old set or the new one at the kill, and a rerun ends as an uninterrupted run', async () => {
    expect(points.length).toBeGreaterThan(15);
    for (const n of chosen()) {
      const out = join(dir, `killed-${n}`);
      await cp(join(dir, 'older'), out, { recursive: true, verbatimSymlinks: true });
      const signal = await runChild(out, { MAL_FAULT_AT: String(n) });
      expect(signal, `point ${points[n - 1]}`).toBe('SIGKILL');
      const seen = await published(out);
      expect([older, fresh], `a mixed set after a kill at ${points[n - 1]}`).toContainEqual(seen);

      const rerun = await runMal(['assemble', plan, '--out', out]);
      expect(rerun.code, rerun.stderr).toBe(0);
      expect(await published(out), `final bytes after a kill at ${points[n - 1]}`).toEqual(fresh);
      expect(await listing(out), `stray files after a kill at ${points[n - 1]}`).toEqual(freshListing);
      for (const folder of ['objects', 'steps']) {
        const stray = (await readdir(join(out, 'store', folder))).filter((f) => f.endsWith('.tmp'));
        expect(stray, `store/${folder} after a kill at ${points[n - 1]}`).toEqual([]);
      }
    }
  }, 900_000);
});
