import { NativeConnection, Worker } from '@temporalio/worker';
import { studyChunkQueue } from '../../workflows/study-types.js';
import { createAssemblyActivities } from './activities.js';
import { taskPlacementFromEnv } from './assembly-session.js';
import { createStudyActivities } from './study-activities.js';
import { type TemporalSettings, TemporalUnavailableError } from './temporal-settings.js';
import { workflowCode } from './workflow-code.js';
import { createZooIntegrationActivities } from './zoo-integration-activities.js';

/** Study chunks one Temporal worker process runs at once (each a few model uploads and a wait on NATS). */
const STUDY_CHUNKS_AT_ONCE = 16;

/** Stops the other worker of the process when one stops, so `run` ends with both. */
function shutdownIfRunning(worker: Worker): void {
  if (worker.getState() === 'RUNNING') worker.shutdown();
}

export interface TemporalWorkerHandle {
  readonly worker: Worker;
  /** Runs until shutdown (SIGINT/SIGTERM or `worker.shutdown()`), then closes what the activities opened. */
  run(): Promise<void>;
}

/**
 * A worker that runs the assembly, zoo-integration and study workflows and their activities on one task queue,
 * and the study's chunk activities on `<queue>-study`.
 */
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
  const study = createStudyActivities();
  const worker = await Worker.create({
    connection,
    namespace: settings.namespace,
    taskQueue: settings.taskQueue,
    ...workflowCode(),
    activities: {
      ...assembly.activities,
      ...createZooIntegrationActivities(),
      prepareStudy: study.activities.prepareStudy,
      writeStudyOutputs: study.activities.writeStudyOutputs,
    },
    // Steps are CPU-bound and use the process's thread pool; running several at once only slows each.
    maxConcurrentActivityTaskExecutions: 1,
  });
  // A study's chunks mostly wait for the task workers, so several run at once, apart from the CPU-bound queue.
  const chunkWorker = await Worker.create({
    connection,
    namespace: settings.namespace,
    taskQueue: studyChunkQueue(settings.taskQueue),
    activities: { measureStudyChunk: study.activities.measureStudyChunk },
    maxConcurrentActivityTaskExecutions: STUDY_CHUNKS_AT_ONCE,
  });
  return {
    worker,
    async run() {
      try {
        await Promise.all([
          worker.run().finally(() => shutdownIfRunning(chunkWorker)),
          chunkWorker.run().finally(() => shutdownIfRunning(worker)),
        ]);
      } finally {
        await assembly.close();
        await study.close();
        await connection.close();
      }
    },
  };
}
