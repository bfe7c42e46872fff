/**
 * The assembly workflow on a real Temporal dev server: the same plan gives the same model bytes as the embedded
 * `mal assemble`; the progress query and the pause, resume and stop signals; a replay of the finished run's
 * histories (determinism); and a Temporal worker process killed with SIGKILL mid-run and started again.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/store/content-store.js';
import { workflowsEntry } from '../../workers/temporal/workflow-code.js';
import type { AssemblyProgress, AssemblyWorkflowInput, FinishedRun } from '../../workflows/assembly-types.js';
import { startTemporalServer, type TemporalTestServer } from '../support/temporal-server.js';
import { mal, malArgv, root, until, withWorker, writeDemoPlan } from './workflow-test-harness.js';

const progressOf = (handle: WorkflowHandle) => handle.query<AssemblyProgress>('progress');

let dir: string;
let plan: string;
let server: TemporalTestServer;
let connection: Connection;
let client: Client;
let embeddedModel: Buffer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mal-workflow-'));
  plan = await writeDemoPlan(dir);
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

describe('assemblyWorkflow', () => {
  it('gives the embedded engine’s bytes, answers progress, and its histories replay', async () => {
    const output = join(dir, 'temporal');
    const input: AssemblyWorkflowInput = { plan, output, stepsPerExecution: 2 };
    const { result, handle, progress } = await withWorker(server, 'q-bytes', async () => {
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
    await withWorker(server, 'q-signals', async () => {
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
      spawn(process.execPath, [...malArgv, 'temporal-worker', ...connectionFlags], {
        cwd: root,
        stdio: 'ignore',
      });
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
      // The kill cost the run something Temporal had to redo: a timed-out workflow or activity task, or a retry.
      const { events } = await handle.fetchHistory();
      const redone = (events ?? []).filter(
        (e) =>
          e.workflowTaskTimedOutEventAttributes != null ||
          e.activityTaskTimedOutEventAttributes != null ||
          (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1,
      );
      expect(redone.length).toBeGreaterThan(0);
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
