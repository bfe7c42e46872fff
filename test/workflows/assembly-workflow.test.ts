/**
 * The assembly workflow on a real Temporal dev server: the same plan gives the same model bytes as the embedded
 * `mal assemble`; the progress query and the pause, resume and stop signals; a replay of the finished run's
 * histories (determinism); and a Temporal worker process killed with SIGKILL mid-run and started again.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/store/content-store.js';
import { createAssemblyActivities } from '../../workers/temporal/activities.js';
import { workflowsEntry } from '../../workers/temporal/temporal-worker.js';
import { createZooIntegrationActivities } from '../../workers/temporal/zoo-integration-activities.js';
import type { AssemblyProgress, AssemblyWorkflowInput, FinishedRun } from '../../workflows/assembly-types.js';
import type { ZooIntegrationInput, ZooIntegrationResult } from '../../workflows/zoo-integration-types.js';
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
      activities: { ...assembly.activities, ...createZooIntegrationActivities() },
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

  it('integrates new zoo models nightly: publishes v1, nothing without new models, nothing when v1 is not improved', async () => {
    // A copy of the demo zoo without its stronger fashion-mnist MLPs, which are "added" later.
    const zoo = join(dir, 'zoo');
    await cp(join(root, 'zoo', 'demo'), zoo, { recursive: true });
    const manifestPath = join(zoo, 'zoo.json');
    const fullManifest = await readFile(manifestPath, 'utf8');
    const manifest = JSON.parse(fullManifest) as { models: { id: string }[] };
    const later = ['mlp-h128x128-s1-fmnist', 'mlp-h256x256-s1-fmnist', 'mlp-h256x256-s2-fmnist'];
    for (const id of later) expect(manifest.models.map((m) => m.id)).toContain(id);
    await writeFile(
      manifestPath,
      JSON.stringify({ ...manifest, models: manifest.models.filter((m) => !later.includes(m.id)) }),
    );
    const publish = join(dir, 'published');
    const input: ZooIntegrationInput = { plan, zoo, publish };
    const nightly = (night: number) =>
      client.workflow.execute('zooIntegrationWorkflow', {
        taskQueue: 'q-nightly',
        workflowId: `nightly-${night}`,
        args: [input],
      }) as Promise<ZooIntegrationResult>;

    await withWorker('q-nightly', async () => {
      const first = await nightly(1);
      expect(first.published?.version).toBe('v1');
      for (const id of later) expect(first.added.map((m) => m.id)).not.toContain(id);
      expect((await readFile(join(publish, 'latest'), 'utf8')).trim()).toBe('v1');
      const v1 = JSON.parse(await readFile(join(publish, 'v1', 'publication.json'), 'utf8'));
      expect(v1).toMatchObject({ version: 'v1', parent: null });
      expect(v1.modelSha256).toBe(sha256(await readFile(join(publish, 'v1', 'model.safetensors'))));
      for (const file of ['spec.json', 'lineage.json', 'README.md', 'report.html', 'config.json'])
        expect(existsSync(join(publish, 'v1', file)), file).toBe(true);

      const second = await nightly(2);
      expect(second.published).toBeNull();
      expect(second.reason).toBe('no zoo models added since v1');

      await writeFile(manifestPath, fullManifest);
      const third = await nightly(3);
      expect(third.added.map((m) => m.id).sort()).toEqual([...later].sort());
      const run = JSON.parse(await readFile(join(publish, 'runs', 'v2', 'lineage.json'), 'utf8'));
      expect(run.base.path).toBe(join(publish, 'v1', 'model.safetensors'));
      // v1 is the demo run's optimum for this objective: the new models' candidates are pruned or do not improve it,
      // so the third night publishes nothing and `latest` stays v1. The run did start from v1 (same objective).
      const v1Lineage = JSON.parse(await readFile(join(publish, 'v1', 'lineage.json'), 'utf8'));
      expect(run.initial.objective).toBe(v1Lineage.final.objective);
      expect(third.published).toBeNull();
      expect(third.reason).toMatch(/^nothing improved the objective of v1/);
      expect((await readFile(join(publish, 'latest'), 'utf8')).trim()).toBe('v1');
      expect(existsSync(join(publish, 'v2'))).toBe(false);
    });
  }, 180_000);

  it('creates, lists and deletes the nightly schedule from the command line', async () => {
    const flags = ['--address', server.address];
    const created = await mal(
      'schedule',
      'nightly',
      '--plan',
      plan,
      '--zoo',
      join(root, 'zoo', 'demo'),
      '--publish',
      join(dir, 'scheduled'),
      '--id',
      'test-nightly',
      ...flags,
    );
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout.trim()).toBe('test-nightly');
    const listed = await until('the schedule to be listed', async () => {
      const ls = await mal('schedule', 'ls', ...flags);
      return ls.stdout.includes('test-nightly') ? ls : undefined;
    });
    expect(listed.stdout).toMatch(/test-nightly\tzooIntegrationWorkflow\tnext \d{4}-/);
    const deleted = await mal('schedule', 'delete', 'test-nightly', ...flags);
    expect(deleted.code, deleted.stderr).toBe(0);
    const again = await mal('schedule', 'delete', 'test-nightly', ...flags);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/no schedule 'test-nightly'/);
  }, 60_000);
});
