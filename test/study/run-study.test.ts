/*
 * `mal study` end to end on a tiny study: the zoo grid trained on synthetic data, the table, the summary and the
 * report written; a re-run after cell files are deleted or damaged measures exactly those; a run killed with
 * SIGKILL and started again ends with the bytes of a run never interrupted, on threads or not.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CELLS_FOLDER } from '../../src/study/study-results.js';
import { malArgv, root } from '../support/mal-cli.js';
import { runMal } from '../support/run-mal.js';
import { scratch, writeBands } from './study-fixtures.js';

const STUDY = `title: tiny study
datasets:
  - {name: a, train: a-train.arrow, eval: test.arrow}
  - {name: b, train: b-train.arrow, eval: test.arrow, domain: a}
zoo:
  folder: zoo
  train: {widths: [8, 16], depths: [1, 2], datasets: [a, b], epochs: 1}
positions: [first, middle, last]
evaluate: {limit: 60, batchSize: 60}
grid: 0:0.25:1
backend: cpu
`;

interface Outcome {
  readonly cells: number;
  readonly measured: number;
  readonly reused: number;
  readonly rejected: number;
  readonly pairs: number;
}

describe('mal study', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let study: string;
  let reference: { arrow: Buffer; csv: Buffer; summary: Buffer };
  let first: Outcome;

  const outputs = async (out: string) => ({
    arrow: await readFile(join(out, 'study.arrow')),
    csv: await readFile(join(out, 'study.csv')),
    summary: await readFile(join(out, 'study.json')),
  });
  const cellFiles = async (out: string) =>
    (await readdir(join(out, CELLS_FOLDER))).filter((f) => f.endsWith('.json')).sort();

  beforeAll(async () => {
    dir = await scratch();
    await writeBands(join(dir.path, 'a-train.arrow'), 240, 1);
    await writeBands(join(dir.path, 'b-train.arrow'), 240, 3);
    await writeBands(join(dir.path, 'test.arrow'), 60, 2);
    study = join(dir.path, 'study.yaml');
    await writeFile(study, STUDY);
    const run = await runMal([
      'study',
      study,
      '--out',
      join(dir.path, 'reference'),
      '--threads',
      '1',
      '--json',
    ]);
    expect(run.code, run.stderr).toBe(0);
    first = JSON.parse(run.stdout) as Outcome;
    reference = await outputs(join(dir.path, 'reference'));
  }, 120_000);
  afterAll(async () => {
    await dir?.remove();
  });

  it('trains the grid, measures every cell and writes the table, summary and report', async () => {
    // 8 models, 56 ordered pairs; first and last for each, middle for the 12 pairs of two-hidden-layer models.
    expect(first.pairs).toBe(56);
    expect(first.cells).toBe((56 * 2 + 12) * 2);
    expect(first.measured).toBe(first.cells);
    const zoo = JSON.parse(await readFile(join(dir.path, 'zoo', 'zoo.json'), 'utf8'));
    expect(zoo.models.map((m: { id: string }) => m.id)).toContain('mlp-h16x16-b-s1');
    const summary = JSON.parse(reference.summary.toString());
    expect(summary).toMatchObject({ title: 'tiny study', cells: first.cells, excludedPairs: 0, failed: [] });
    expect(summary.models).toHaveLength(8);
    expect(reference.csv.toString().trimEnd().split('\n')).toHaveLength(first.cells + 1);
    const report = await readFile(join(dir.path, 'reference', 'report.html'), 'utf8');
    expect(report).toContain('tiny study');
    expect(await cellFiles(join(dir.path, 'reference'))).toHaveLength(first.cells);
  });

  it('re-measures only deleted and damaged cells, on threads, and writes the same bytes', async () => {
    const out = join(dir.path, 'reference');
    const files = await cellFiles(out);
    for (const f of files.slice(0, 5)) await rm(join(out, CELLS_FOLDER, f));
    await truncate(join(out, CELLS_FOLDER, files[9]), 40);
    await writeFile(join(out, CELLS_FOLDER, files[10]), '{"cell": "not this one"}\n');
    const run = await runMal(['study', study, '--out', out, '--threads', '2', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const again = JSON.parse(run.stdout) as Outcome;
    expect(again.measured).toBe(7);
    expect(again.rejected).toBe(2);
    expect(again.reused).toBe(first.cells - 7);
    const now = await outputs(out);
    expect(Buffer.compare(now.arrow, reference.arrow)).toBe(0);
    expect(now.csv.equals(reference.csv)).toBe(true);
    expect(now.summary.equals(reference.summary)).toBe(true);
  }, 120_000);

  it('--prune removes the cell files of cells the study no longer has, and nothing else', async () => {
    const out = join(dir.path, 'reference');
    const stale = join(out, CELLS_FOLDER, `${'f'.repeat(64)}.json`);
    const notes = join(out, CELLS_FOLDER, 'notes.txt');
    await writeFile(stale, '{"cell": "of a grid this study no longer has"}\n');
    await writeFile(notes, 'not a cell file\n');
    const kept = await runMal(['study', study, '--out', out, '--threads', '1', '--json']);
    expect(kept.code, kept.stderr).toBe(0);
    expect(JSON.parse(kept.stdout)).toMatchObject({ measured: 0, pruned: 0 });
    expect(existsSync(stale)).toBe(true);
    const run = await runMal(['study', study, '--out', out, '--threads', '1', '--prune', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ measured: 0, reused: first.cells, pruned: 1 });
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(notes)).toBe(true);
    expect(await cellFiles(out)).toHaveLength(first.cells);
    expect((await outputs(out)).csv.equals(reference.csv)).toBe(true);
    await rm(notes);
  }, 120_000);

  it('resumes after SIGKILL and ends with the bytes of an uninterrupted run', async () => {
    const out = join(dir.path, 'killed');
    const cells = join(out, CELLS_FOLDER);
    const killed = await new Promise<NodeJS.Signals | null>((resolve) => {
      const child: ChildProcess = spawn(
        process.execPath,
        [...malArgv, 'study', study, '--out', out, '--threads', '1'],
        { cwd: root, stdio: 'ignore' },
      );
      const poll = setInterval(() => {
        if (existsSync(cells)) {
          readdir(cells).then(
            (names) => {
              if (names.filter((n) => n.endsWith('.json')).length >= 10) {
                clearInterval(poll);
                child.kill('SIGKILL');
              }
            },
            () => undefined,
          );
        }
      }, 20);
      child.on('exit', (_code, signal) => {
        clearInterval(poll);
        resolve(signal);
      });
    });
    expect(killed).toBe('SIGKILL');
    expect(existsSync(join(out, 'study.arrow'))).toBe(false);
    const done = (await cellFiles(out)).length;
    expect(done).toBeLessThan(first.cells);

    const run = await runMal(['study', study, '--out', out, '--threads', '1', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const resumed = JSON.parse(run.stdout) as Outcome;
    expect(resumed.reused).toBe(done);
    expect(resumed.measured).toBe(first.cells - done);
    const now = await outputs(out);
    expect(Buffer.compare(now.arrow, reference.arrow)).toBe(0);
    expect(now.csv.equals(reference.csv)).toBe(true);
  }, 120_000);

  it('refuses a study file with a bad field, naming it, and writes nothing', async () => {
    const bad = join(dir.path, 'bad.yaml');
    await writeFile(bad, STUDY.replace('positions: [first, middle, last]', 'positions: [first, top]'));
    const run = await runMal(['study', bad, '--out', join(dir.path, 'bad-out')]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('bad.yaml:8: positions[1]');
    expect(existsSync(join(dir.path, 'bad-out'))).toBe(false);
  });
});
