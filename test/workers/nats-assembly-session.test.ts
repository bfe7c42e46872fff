/**
 * A step of a run with `MAL_TASKS=nats` (the Temporal worker's session, without Temporal): candidates aligned by
 * activations on a task worker, λ curves built and REPAIRed in this process, evaluated on the worker, several donors
 * fused. It must give the embedded engine's step byte for byte.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareAssembly, runAssemblyStep } from '../../src/assembly/run-assembly.js';
import { openEmbeddedAssembly } from '../../src/engine/embedded-assembly.js';
import { loadAssemblyRun } from '../../src/engine/load-assembly-run.js';
import { NATS_ENV } from '../../workers/nats/connection-options.js';
import { openAssemblySession, TASK_POOL_ENV, TASKS_ENV } from '../../workers/temporal/assembly-session.js';
import { requireFashionMnist } from '../data/fashion-mnist-required.js';
import { writeGpt2Plan } from '../support/demo-plan.js';
import { root } from '../support/mal-cli.js';
import { startNatsServer, type TestNatsServer } from '../support/nats-server.js';
import { spawnTaskWorker, type TaskWorkerProcess } from '../support/task-worker-process.js';

const ZOO = ['mlp-h64x64-s1-fmnist', 'mlp-h128x128-s1-fmnist', 'mlp-h256x256-s1-fmnist'];
const LAYERS = '[layers.0, layers.1, layers.2]';

async function writePlan(
  dir: string,
  name: string,
  repair: 'repair' | 'none',
  regmean = false,
): Promise<string> {
  const plan = join(dir, `${name}.yaml`);
  await writeFile(
    plan,
    [
      `base: ${join(root, 'zoo/demo/models/base-mlp-h128x128-fmnist-weak.safetensors')}`,
      `zoo: {path: ${join(root, 'zoo/demo')}, include: [${ZOO.join(', ')}]}`,
      'objective:',
      '  tasks:',
      '    - {data: fashion-mnist:val, metric: loss, weight: 1, limit: 400, scoring: raw}',
      'candidates:',
      ...ZOO.map((id) => `  - {model: ${id}, layers: ${LAYERS}, baseLayers: ${LAYERS}}`),
      'alignment: {match: activations}',
      `merge: {grid: "0:0.25:1", lambdaMin: 0.1, repair: ${repair}, regmean: ${regmean}, donors: 3, donorWeights: [0.1, 0.2, 0.35, 0.5]}`,
      'statistics: {examples: 200}',
      'steps: 1',
      'calibrate: none',
      'backend: wasm',
      `output: ${join(dir, `${name}-out`)}`,
      '',
    ].join('\n'),
  );
  return plan;
}

/** The first step of the plan on the embedded engine. */
async function embeddedStep(plan: string) {
  const { plan: loaded, validation, backend } = await loadAssemblyRun(plan);
  const engine = await openEmbeddedAssembly(loaded, validation, backend);
  try {
    const prepared = await prepareAssembly(engine.inputs);
    return (await runAssemblyStep(prepared, firstStep(prepared))).step;
  } finally {
    await engine.close();
  }
}

function firstStep(prepared: Awaited<ReturnType<typeof prepareAssembly>>) {
  return { index: 0, stateHash: prepared.initialStateHash, objective: prepared.initial.objective };
}

describe('a step with MAL_TASKS=nats', () => {
  let dir: string;
  let server: TestNatsServer;
  let worker: TaskWorkerProcess | undefined;
  const saved = {
    tasks: process.env[TASKS_ENV],
    url: process.env[NATS_ENV.url],
    pool: process.env[TASK_POOL_ENV],
  };

  beforeAll(async () => {
    requireFashionMnist();
    dir = await mkdtemp(join(tmpdir(), 'mal-nats-session-'));
    server = await startNatsServer();
  });
  afterAll(async () => {
    for (const [key, value] of [
      [TASKS_ENV, saved.tasks],
      [NATS_ENV.url, saved.url],
      [TASK_POOL_ENV, saved.pool],
    ] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    await worker?.stop();
    await server?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  /** The plan's first step through a session on the task pool (one task worker for the file), and the worker's log. */
  async function clusterStep(plan: string, output: string) {
    worker ??= spawnTaskWorker(server.url, 'session', ['--concurrency', '2']);
    process.env[TASKS_ENV] = 'nats';
    process.env[NATS_ENV.url] = server.url;
    process.env[TASK_POOL_ENV] = 'session';
    const session = await openAssemblySession({ plan, output: join(dir, output) });
    try {
      const { step } = await runAssemblyStep(session.prepared, firstStep(session.prepared));
      return { step, log: worker.log() };
    } finally {
      await session.close();
    }
  }

  it('aligns by activations on the workers and REPAIRs the curves and donors as the embedded engine does', async () => {
    const plan = await writePlan(dir, 'repair', 'repair');
    const embedded = await embeddedStep(plan);

    const { step: cluster, log } = await clusterStep(plan, 'cluster-out');
    expect(log).toMatch(/align [0-9a-f]{12} done/);
    expect(log).toMatch(/evaluate [0-9a-f]{12} done/);
    const { seconds: _a, ...embeddedRecord } = embedded;
    const { seconds: _b, ...clusterRecord } = cluster;
    expect(clusterRecord).toEqual(embeddedRecord);
    // Same bytes: the state after the step is stored under the hash of its tensors.
    expect(cluster.stateAfter).toBe(embedded.stateAfter);
    expect(cluster.accepted).not.toBeNull();
    // A second donor was kept: the state is a REPAIRed mix of several donors.
    expect(cluster.accepted?.fusion?.donors.length).toBeGreaterThanOrEqual(2);

    // REPAIR really changed the step: without it the curves differ.
    delete process.env[TASKS_ENV];
    const plain = await embeddedStep(await writePlan(dir, 'plain', 'none'));
    expect(plain.scored.map((s) => s.curve)).not.toEqual(embedded.scored.map((s) => s.curve));
  }, 240_000);

  it('builds RegMean merges on the workers, the statistics sent by hash, as the embedded engine does', async () => {
    const plan = await writePlan(dir, 'regmean', 'none', true);
    delete process.env[TASKS_ENV];
    const embedded = await embeddedStep(plan);

    const { step: cluster, log } = await clusterStep(plan, 'regmean-cluster-out');
    // The curves were computed by curve tasks, each merge built and RegMean-solved on a worker.
    expect(log).toMatch(/curve [0-9a-f]{12} done/);
    const { seconds: _a, ...embeddedRecord } = embedded;
    const { seconds: _b, ...clusterRecord } = cluster;
    expect(clusterRecord).toEqual(embeddedRecord);
    expect(cluster.stateAfter).toBe(embedded.stateAfter);

    // RegMean really changed the step: the straight line gives other curves.
    delete process.env[TASKS_ENV];
    const plain = await embeddedStep(await writePlan(dir, 'plain-for-regmean', 'none'));
    expect(plain.scored.map((s) => s.curve)).not.toEqual(embedded.scored.map((s) => s.curve));
  }, 240_000);

  it("runs a GPT-2 step's alignments and λ curves on the workers, on the token sequences sent by hash, as embedded", async () => {
    const plan = await writeGpt2Plan(dir, ['backend: wasm']);
    delete process.env[TASKS_ENV];
    const embedded = await embeddedStep(plan);

    worker ??= spawnTaskWorker(server.url, 'session', ['--concurrency', '2']);
    process.env[TASKS_ENV] = 'nats';
    process.env[NATS_ENV.url] = server.url;
    process.env[TASK_POOL_ENV] = 'session';
    const session = await openAssemblySession({ plan, output: join(dir, 'gpt2-cluster-out') });
    let cluster: typeof embedded;
    let evaluatedOnWorkers: Awaited<ReturnType<typeof session.prepared.inputs.evaluateMany>>;
    try {
      cluster = (await runAssemblyStep(session.prepared, firstStep(session.prepared))).step;
      // Evaluate tasks on token batches too (a plan sends them with merge.ancestor or REPAIR): the base on the
      // workers scores what this process scored it before the step.
      const { inputs } = session.prepared;
      evaluatedOnWorkers = await inputs.evaluateMany([new Map(inputs.base.tensors)]);
    } finally {
      await session.close();
    }
    expect(worker.log()).toMatch(/align [0-9a-f]{12} done/);
    expect(worker.log()).toMatch(/curve [0-9a-f]{12} done/);
    expect(worker.log()).toMatch(/evaluate [0-9a-f]{12} done/);
    expect(evaluatedOnWorkers).toEqual([session.prepared.initial]);
    const { seconds: _a, ...embeddedRecord } = embedded;
    const { seconds: _b, ...clusterRecord } = cluster;
    expect(clusterRecord).toEqual(embeddedRecord);
    expect(cluster.stateAfter).toBe(embedded.stateAfter);
    // Candidates were measured along λ, not only refused.
    expect(cluster.scored.length).toBeGreaterThan(0);
  }, 240_000);
});
