/**
 * The study on the cluster (`mal study --cluster`): NATS, a Temporal dev server, a Temporal worker and task-worker
 * processes. Its table has the embedded run's bytes; killing the Temporal worker and a task worker mid-study
 * (SIGKILL) and starting them again still ends with those bytes, and no finished cell is measured twice.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowsEntry } from '../../workers/temporal/workflow-code.js';
import { type StudyCluster, startStudyCluster } from '../support/study-cluster.js';
import { writeTinyStudy } from './study-cluster-fixture.js';

let dir: string;
let study: string;
let cluster: StudyCluster;
const lines: string[] = [];

/** Completed measurements of study cells per task key (a worker logs `study-cell <key> done …` once for each). */
function measurementsPerKey(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of lines) {
    const m = / study-cell ([0-9a-f]{12}) done[ (]/.exec(line);
    if (m !== null) counts.set(m[1], (counts.get(m[1]) ?? 0) + 1);
  }
  return counts;
}

async function cellFiles(out: string): Promise<number> {
  const names = await readdir(join(out, 'cells')).catch(() => [] as string[]);
  return names.filter((n) => n.endsWith('.json')).length;
}

async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}\n${lines.slice(-30).join('\n')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mal-study-cluster-'));
  study = await writeTinyStudy(dir);
  cluster = await startStudyCluster({
    log: (line) => lines.push(line),
    workerArgs: ['--ack-wait-ms', '2000'],
  });
  // The embedded reference, on one thread; it also trains the zoo the cluster runs reuse.
  const embedded = await cluster.mal(['study', study, '--out', join(dir, 'embedded'), '--threads', '1']);
  expect(embedded.code, embedded.stderr).toBe(0);
}, 240_000);

afterAll(async () => {
  await cluster?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
}, 60_000);

async function expectSameTable(out: string, embedded = join(dir, 'embedded')): Promise<void> {
  for (const file of ['study.arrow', 'study.csv', 'study.json', 'report.html']) {
    const a = await readFile(join(embedded, file));
    const b = await readFile(join(out, file));
    expect(b.equals(a), `${file} differs from the embedded run's`).toBe(true);
  }
}

/** Every execution of the run (continue-as-new generations) replays on the workflow code. */
async function expectHistoriesReplay(workflowId: string, executions: number): Promise<void> {
  const connection = await Connection.connect({ address: cluster.temporal.address });
  try {
    const client = new Client({ connection, namespace: cluster.temporal.namespace });
    const runs = [];
    for await (const w of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) runs.push(w.runId);
    expect(runs).toHaveLength(executions);
    for (const runId of runs) {
      const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
      await Worker.runReplayHistory({ workflowsPath: workflowsEntry() }, history, workflowId);
    }
  } finally {
    await connection.close();
  }
}

describe('mal study --cluster', () => {
  it('writes the embedded run’s table bytes, measuring every cell on the task workers', async () => {
    cluster.startTaskWorker('worker-a');
    cluster.startTaskWorker('worker-b');
    cluster.startTemporalWorker();
    const out = join(dir, 'cluster');
    // Chunks of two pairs, two chunks per execution: the run continues as new twice.
    const run = await cluster.mal([
      'study',
      study,
      '--cluster',
      '--wait',
      '--out',
      out,
      '--id',
      'study-one',
      '--chunk-cells',
      '8',
      '--chunks-per-execution',
      '2',
    ]);
    expect(run.code, `${run.stdout}\n${run.stderr}\n${lines.slice(-20).join('\n')}`).toBe(0);
    expect(run.stdout).toContain('study-one');
    await expectSameTable(out);
    const embeddedCsv = await readFile(join(dir, 'embedded', 'study.csv'), 'utf8');
    const cells = embeddedCsv.trim().split('\n').length - 1;
    expect(cells).toBe(48);
    // Every row came from a study-cell task of a worker, each measured once.
    const measured = measurementsPerKey();
    expect(measured.size).toBe(cells);
    expect([...measured.values()].every((n) => n === 1)).toBe(true);

    const status = await cluster.mal(['status', 'study-one', '--json']);
    expect(status.code, status.stderr).toBe(0);
    const answer = JSON.parse(status.stdout) as { kind: string; status: string; result: { rows: number } };
    expect(answer).toMatchObject({ kind: 'study', status: 'COMPLETED', result: { rows: 48 } });
    await expectHistoriesReplay('study-one', 3);
  }, 240_000);

  it('finishes with the same bytes after SIGKILL of the Temporal worker and a task worker, measuring no finished cell twice', async () => {
    // Cells with more work (a 21-point curve on 2000 examples), so the kill lands mid-study.
    const heavyDir = join(dir, 'heavy');
    await mkdir(heavyDir);
    const heavy = await writeTinyStudy(heavyDir, { widths: [64], evalLimit: 2000, grid: '0:0.05:1' });
    const embedded = await cluster.mal([
      'study',
      heavy,
      '--out',
      join(heavyDir, 'embedded'),
      '--threads',
      '1',
    ]);
    expect(embedded.code, embedded.stderr).toBe(0);

    await cluster.stop();
    lines.length = 0;
    cluster = await startStudyCluster({
      log: (line) => lines.push(line),
      workerArgs: ['--ack-wait-ms', '2000'],
    });
    const doomed = cluster.startTaskWorker('worker-a');
    cluster.startTaskWorker('worker-b');
    const temporalWorker = cluster.startTemporalWorker('temporal-worker-1');
    const out = join(heavyDir, 'cluster');
    const submitted = await cluster.mal([
      'study',
      heavy,
      '--cluster',
      '--out',
      out,
      '--id',
      'study-killed',
      '--chunk-cells',
      '4',
      '--heartbeat-timeout',
      '30',
    ]);
    expect(submitted.code, submitted.stderr).toBe(0);
    await until('a few cells measured', async () => (await cellFiles(out)) >= 4);
    await temporalWorker.stop('SIGKILL');
    await doomed.stop('SIGKILL');
    const before = await cellFiles(out);
    expect(before, 'the study finished before the kill: give its cells more work').toBeLessThan(40);
    cluster.startTaskWorker('worker-c');
    cluster.startTemporalWorker('temporal-worker-2');

    // The chunks the dead worker held wait out their heartbeat timeout: the run is still measuring, and the new
    // Temporal worker answers for it once it polls.
    let running = '';
    await until('the progress of the resumed run', async () => {
      const status = await cluster.mal(['status', 'study-killed']);
      running = status.stdout;
      return status.code === 0 && /measuring: cells/.test(running);
    });
    expect(running).toMatch(/study run study-killed: RUNNING/);
    expect(running).toMatch(/measuring: cells \d+\/48, pairs \d+\/12/);

    await until('the study to complete', async () => {
      const s = await cluster.mal(['status', 'study-killed', '--json']);
      return s.code === 0 && (JSON.parse(s.stdout) as { status: string }).status === 'COMPLETED';
    });
    await expectSameTable(out, join(heavyDir, 'embedded'));
    const measured = measurementsPerKey();
    const twice = [...measured].filter(([, n]) => n > 1);
    expect(twice, lines.filter((l) => l.includes('study-cell')).join('\n')).toEqual([]);
    expect(measured.size).toBeLessThanOrEqual(48);
    expect(measured.size).toBeGreaterThan(40);
    await expectHistoriesReplay('study-killed', 1);
  }, 400_000);

  it('measures a study of GPT-2 models on the task workers with the embedded run’s bytes, failing cells alone as it does', async () => {
    const lmDir = join(dir, 'language-models');
    await mkdir(lmDir);
    const lmStudy = join(lmDir, 'study.yaml');
    const zoo = resolve('zoo/transformers');
    await writeFile(
      lmStudy,
      [
        'datasets:',
        '  - {name: en, train: "fortunes:en:train", eval: "fortunes:en:test"}',
        `zoo: {folder: ${JSON.stringify(zoo)}, models: [base-gpt2-w64-h4-weak, gpt2-w32-h2-l2-c64-i64-s3-fortunesen-n1600]}`,
        'positions: [first, last]',
        'alignment: [aligned, naive]',
        'evaluate: {limit: 4, batchSize: 4}',
        'grid: 0:0.5:1',
        '',
      ].join('\n'),
    );
    const embedded = await cluster.mal([
      'study',
      lmStudy,
      '--out',
      join(lmDir, 'embedded'),
      '--threads',
      '1',
    ]);
    expect(embedded.code, embedded.stderr).toBe(0);
    // Workers of its own, so the test runs alone too (-t); with the earlier tests' workers they share the pool.
    cluster.startTaskWorker('worker-lm');
    cluster.startTemporalWorker('temporal-worker-lm');
    const before = measurementsPerKey().size;
    const out = join(lmDir, 'cluster');
    const run = await cluster.mal([
      'study',
      lmStudy,
      '--cluster',
      '--wait',
      '--out',
      out,
      '--id',
      'study-gpt2',
    ]);
    expect(run.code, `${run.stdout}\n${run.stderr}\n${lines.slice(-20).join('\n')}`).toBe(0);
    await expectSameTable(out, join(lmDir, 'embedded'));
    // Two ordered pairs, two positions, aligned and naive: every cell measured by a task worker.
    const rows = (await readFile(join(out, 'study.csv'), 'utf8')).trim().split('\n').length - 1;
    expect(rows).toBe(8);
    expect(measurementsPerKey().size - before).toBe(rows);

    // Evaluation text that does not fill one sequence: every cell fails, alone, as in the embedded run.
    const tiny = join(lmDir, 'tiny.txt');
    await writeFile(tiny, 'too short\n');
    const short = join(lmDir, 'short.yaml');
    await writeFile(
      short,
      (await readFile(lmStudy, 'utf8')).replace(
        'eval: "fortunes:en:test"',
        `eval: ${JSON.stringify(`text:${tiny}`)}`,
      ),
    );
    const shortEmbedded = await cluster.mal([
      'study',
      short,
      '--out',
      join(lmDir, 'short-embedded'),
      '--threads',
      '1',
    ]);
    expect(shortEmbedded.code, shortEmbedded.stderr).toBe(1);
    const shortOut = join(lmDir, 'short-cluster');
    const shortRun = await cluster.mal([
      'study',
      short,
      '--cluster',
      '--wait',
      '--out',
      shortOut,
      '--id',
      'study-gpt2-short',
    ]);
    expect(shortRun.code, `${shortRun.stdout}\n${shortRun.stderr}`).toBe(1);
    expect(shortRun.stdout).toMatch(/0 of 8 cells measured .*8 failed/);
    await expectSameTable(shortOut, join(lmDir, 'short-embedded'));
    const failures = JSON.parse(await readFile(join(shortOut, 'study.json'), 'utf8')) as {
      failed: { reason: string }[];
    };
    expect(failures.failed.map((f) => f.reason)).toEqual(
      Array(8).fill(expect.stringMatching(/do not fill one sequence/)),
    );
  }, 300_000);
});
