import { NativeConnection, Worker } from '@temporalio/worker';
import { createAssemblyActivities } from '../../workers/temporal/activities.js';
import { workflowsEntry } from '../../workers/temporal/workflow-code.js';
import { createZooIntegrationActivities } from '../../workers/temporal/zoo-integration-activities.js';
import type { TemporalTestServer } from '../support/temporal-server.js';

export { writeDemoPlan, writeGpt2Plan } from '../support/demo-plan.js';
export { mal, malArgv, root } from '../support/mal-cli.js';

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
