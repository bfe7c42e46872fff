/**
 * The assembly workflow on a real Temporal dev server: the same plan gives the same model bytes as the embedded
 * `mal assemble`; the progress query and the pause, resume and stop signals; a replay of the finished run's
 * histories (determinism); and a Temporal worker process killed with SIGKILL mid-run and started again.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/store/content-store.js';
import { createAssemblyActivities } from '../../workers/temporal/activities.js';
import { workflowsEntry } from '../../workers/temporal/temporal-worker.js';
import type { AssemblyProgress, AssemblyWorkflowInput, FinishedRun } from '../../workflows/assembly-types.js';
import { startTemporalServer, type TemporalTestServer } from '../support/temporal-server.js';

const root = join(import.meta.dirname, '..', '..');
const bin = join(root, 'bin', 'mal.js');

function mal(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { cwd: root, maxBuffer: 64 * 2 ** 20 },
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

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const progressOf = (handle: WorkflowHandle) => handle.query<AssemblyProgress>('progress');

let dir: string;
let plan: string;
let server: TemporalTestServer;
let connection: Connection;
let client: Client;
let embeddedModel: Buffer;

beforeAll(async () => {
  if (!existsSync(join(root, 'dist', 'src', 'cli', 'main.js'))) throw new Error('run `npm run build` first');
  dir = await mkdtemp(join(tmpdir(), 'mal-workflow-'));
  plan = join(dir, 'plan.yaml');
  await writeFile(
    plan,
    [
      `base: ${join(root, 'zoo/demo/models/base-mlp-h128x128-fmnist-weak.safetensors')}`,
      `zoo: ${join(root, 'zoo/demo')}`,
      'objective:',
      '  tasks:',
      '    - {data: fashion-mnist:val, metric: loss, weight: 1, limit: 1000}',
      'candidates: {policy: same-depth, topK: 3, probeExamples: 128}',
      'merge: {grid: "0:0.25:1", lambdaMin: 0.1}',
      'steps: 3',
      `output: ${join(dir, 'unused')}`,
      '',
    ].join('\n'),
  );
  const [started, embedded] = await Promise.all([
    startTemporalServer(),
    mal('assemble', plan, '--out', join(dir, 'embedded')),
  ]);
  server = started;
  expect(embedded.code, embedded.stderr).toBe(0);
  embeddedModel = await readFile(join(dir, 'embedded', 'model.safetensors'));
  connection = await Connection.connect({ address: server.address });
  client = new Client({ connection, namespace: server.namespace });
}, 600_000);

afterAll(async () => {
  await connection?.close();
  await server?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

/** Runs `body` while a worker in this process serves `taskQueue`. */
async function withWorker<T>(taskQueue: string, body: () => Promise<T>): Promise<T> {
  const workerConnection = await NativeConnection.connect({ address: server.address });
  const assembly = createAssemblyActivities();
  try {
    const worker = await Worker.create({
      connection: workerConnection,
      namespace: server.namespace,
      taskQueue,
      workflowsPath: workflowsEntry(),
      activities: assembly.activities,
      maxConcurrentActivityTaskExecutions: 1,
    });
    return await worker.runUntil(body);
  } finally {
    await assembly.close();
    await workerConnection.close();
  }
}

describe('assemblyWorkflow', () => {
  it('gives the embedded engine’s bytes, answers progress, and its histories replay', async () => {
    const output = join(dir, 'temporal');
    const input: AssemblyWorkflowInput = { plan, output, stepsPerExecution: 2 };
    const { result, handle, progress } = await withWorker('q-bytes', async () => {
      const handle = await client.workflow.start('assemblyWorkflow', {
        taskQueue: 'q-bytes',
        workflowId: 'bytes-run',
        args: [input],
      });
      const progress = await until('a step to finish', async () => {
        const p = await progressOf(handle);
        return p.step >= 1 ? p : undefined;
      });
      return { result: (await handle.result()) as FinishedRun, handle, progress };
    });
    expect(progress.budget).toBe(3);
    expect(progress.objective).toBeLessThan(progress.initialObjective ?? 0);
    expect(progress.lastAccepted).not.toBeNull();
    expect(result.steps).toBe(3);
    expect(result.finalObjective).toBeLessThan(result.initialObjective);
    expect(Buffer.compare(await readFile(join(output, 'model.safetensors')), embeddedModel)).toBe(0);
    for (const file of ['spec.json', 'lineage.json', 'README.md', 'report.html'])
      expect(existsSync(join(output, file)), file).toBe(true);

    // 3 steps at 2 per execution: the run continued as new once, and both executions must replay.
    const first = client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId);
    const last = client.workflow.getHandle(handle.workflowId);
    expect((await last.describe()).runId).not.toBe(handle.firstExecutionRunId);
    for (const h of [first, last]) {
      await Worker.runReplayHistory(
        { workflowsPath: workflowsEntry() },
        await h.fetchHistory(),
        h.workflowId,
      );
    }
  }, 120_000);

  it('pauses before a step, resumes to the same bytes, and stops with the outputs of the steps done', async () => {
    await withWorker('q-signals', async () => {
      const resumed = await client.workflow.start('assemblyWorkflow', {
        taskQueue: 'q-signals',
        workflowId: 'paused-then-resumed',
        args: [{ plan, output: join(dir, 'resumed') } satisfies AssemblyWorkflowInput],
      });
      await resumed.signal('pause');
      await until('the run to pause', async () =>
        (await progressOf(resumed)).phase === 'paused' ? true : undefined,
      );
      await new Promise((r) => setTimeout(r, 1000));
      expect((await progressOf(resumed)).step).toBe(0);
      expect((await progressOf(resumed)).paused).toBe(true);
      await resumed.signal('resume');
      expect(((await resumed.result()) as FinishedRun).steps).toBe(3);
      expect(Buffer.compare(await readFile(join(dir, 'resumed', 'model.safetensors')), embeddedModel)).toBe(
        0,
      );

      const stopped = await client.workflow.start('assemblyWorkflow', {
        taskQueue: 'q-signals',
        workflowId: 'paused-then-stopped',
        args: [{ plan, output: join(dir, 'stopped') } satisfies AssemblyWorkflowInput],
      });
      await stopped.signal('pause');
      await until('the run to pause', async () =>
        (await progressOf(stopped)).phase === 'paused' ? true : undefined,
      );
      await stopped.signal('stop');
      const result = (await stopped.result()) as FinishedRun;
      expect(result.steps).toBe(0);
      expect(result.stopReason).toBe('stopped by request after 0 step(s)');
      const lineage = JSON.parse(await readFile(join(dir, 'stopped', 'lineage.json'), 'utf8'));
      expect(lineage.steps).toEqual([]);
      expect(lineage.final.sha256).toBe(sha256(await readFile(join(dir, 'stopped', 'model.safetensors'))));
    });
  }, 120_000);

  it('survives its Temporal worker process killed with SIGKILL mid-run: same bytes', async () => {
    const connectionFlags = ['--address', server.address, '--task-queue', 'q-kill'];
    const startWorker = (): ChildProcess =>
      spawn(process.execPath, [bin, 'temporal-worker', ...connectionFlags], { cwd: root, stdio: 'ignore' });
    let worker = startWorker();
    try {
      const output = join(dir, 'killed');
      const submitted = await mal(
        'submit',
        plan,
        '--out',
        output,
        '--id',
        'kill-run',
        '--heartbeat-timeout',
        '3',
        ...connectionFlags,
      );
      expect(submitted.code, submitted.stderr).toBe(0);
      expect(submitted.stdout.trim()).toBe('kill-run');
      const handle = client.workflow.getHandle('kill-run');
      // Kill while the first step runs: prepared, no step finished.
      await until('the first step to start', async () => {
        const p = await progressOf(handle);
        return p.phase === 'running' ? p : undefined;
      });
      worker.kill('SIGKILL');
      await new Promise((r) => worker.once('exit', r));
      expect((await handle.describe()).status.name).toBe('RUNNING');

      worker = startWorker();
      const result = (await handle.result()) as FinishedRun;
      expect(result.steps).toBe(3);
      expect(Buffer.compare(await readFile(join(output, 'model.safetensors')), embeddedModel)).toBe(0);
      const status = await mal('status', 'kill-run', '--json', ...connectionFlags);
      expect(status.code, status.stderr).toBe(0);
      expect(JSON.parse(status.stdout)).toMatchObject({ status: 'COMPLETED', result: { steps: 3 } });
    } finally {
      if (worker.exitCode === null && worker.signalCode === null) {
        const exited = new Promise((r) => worker.once('exit', r));
        worker.kill('SIGTERM');
        await exited;
      }
    }
  }, 180_000);

  it('says clearly when the server is unreachable', async () => {
    const run = await mal('status', 'any', '--address', '127.0.0.1:1');
    expect(run.code).toBe(69);
    expect(run.stderr).toMatch(/cannot reach the Temporal server at 127\.0\.0\.1:1/);
  }, 60_000);
});
