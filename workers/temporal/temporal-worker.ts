import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createAssemblyActivities } from './activities.js';
import { taskPlacementFromEnv } from './assembly-session.js';
import { type TemporalSettings, TemporalUnavailableError } from './temporal-settings.js';
import { createZooIntegrationActivities } from './zoo-integration-activities.js';

/**
 * The workflow bundle's entry: the compiled file next to this one in dist/, or the TypeScript source when this
 * module itself runs from source (tests); the bundler resolves `.js` imports to `.ts` either way.
 */
export function workflowsEntry(): string {
  const compiled = fileURLToPath(new URL('../../workflows/index.js', import.meta.url));
  return existsSync(compiled)
    ? compiled
    : fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));
}

export interface TemporalWorkerHandle {
  readonly worker: Worker;
  /** Runs until shutdown (SIGINT/SIGTERM or `worker.shutdown()`), then closes what the activities opened. */
  run(): Promise<void>;
}

/** A worker that runs the assembly and zoo-integration workflows and their activities on one task queue. */
export async function createTemporalWorker(settings: TemporalSettings): Promise<TemporalWorkerHandle> {
  // A bad MAL_TASKS is refused at start-up, not at the first step of someone's run.
  taskPlacementFromEnv();
  let connection: NativeConnection;
  try {
    connection = await NativeConnection.connect({ address: settings.address });
  } catch (error) {
    throw new TemporalUnavailableError(settings, error);
  }
  const assembly = createAssemblyActivities();
  const worker = await Worker.create({
    connection,
    namespace: settings.namespace,
    taskQueue: settings.taskQueue,
    workflowsPath: workflowsEntry(),
    activities: { ...assembly.activities, ...createZooIntegrationActivities() },
    // Steps are CPU-bound and use the process's thread pool; running several at once only slows each.
    maxConcurrentActivityTaskExecutions: 1,
  });
  return {
    worker,
    async run() {
      try {
        await worker.run();
      } finally {
        await assembly.close();
        await connection.close();
      }
    },
  };
}
