import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createAssemblyActivities } from '../../workers/temporal/activities.js';
import { workflowsEntry } from '../../workers/temporal/temporal-worker.js';
import { createZooIntegrationActivities } from '../../workers/temporal/zoo-integration-activities.js';
import { root } from '../support/mal-cli.js';
import type { TemporalTestServer } from '../support/temporal-server.js';

export { bin, mal, root } from '../support/mal-cli.js';

export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The plan of test/cli/assemble-cli.test.ts (demo zoo, topK 3, 1000 examples, λ grid 0:0.25:1, 3 steps). */
export async function writeDemoPlan(dir: string): Promise<string> {
  const plan = join(dir, 'plan.yaml');
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
  return plan;
}

/** Runs `body` while a worker in this process serves `taskQueue`. */
export async function withWorker<T>(
  server: TemporalTestServer,
  taskQueue: string,
  body: () => Promise<T>,
): Promise<T> {
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
