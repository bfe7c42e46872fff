import { continueAsNew, defineQuery, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import {
  type FailedStudyCell,
  type FinishedStudy,
  type PreparedStudy,
  type StudyActivities,
  type StudyPhase,
  type StudyProgress,
  type StudyWorkflowInput,
  studyChunkQueue,
} from './study-types.js';

export const studyProgressQuery = defineQuery<StudyProgress>('progress');

export const DEFAULT_CHUNKS_IN_FLIGHT = 4;
export const DEFAULT_CHUNKS_PER_EXECUTION = 200;
export const DEFAULT_STUDY_HEARTBEAT_TIMEOUT_SECONDS = 60;

/**
 * `mal study --cluster`: prepare (resolve or train the zoo, write the cell list), measure the cells chunk by chunk
 * with several chunks in flight (each chunk's cells are tasks on the NATS task workers; each row is written to
 * `<out>/cells/` as it arrives), then write the table and report with the embedded runner's code. Every chunk
 * measures only the cells without a row, so a retried chunk, a restarted worker or a resubmitted study measures
 * no finished cell again. Continue-as-new every `chunksPerExecution` chunks keeps the history small.
 */
export async function studyWorkflow(input: StudyWorkflowInput): Promise<FinishedStudy> {
  const heartbeatTimeout = `${input.heartbeatTimeoutSeconds ?? DEFAULT_STUDY_HEARTBEAT_TIMEOUT_SECONDS} s`;
  const retry = { maximumAttempts: 10, nonRetryableErrorTypes: NON_RETRYABLE_ERRORS };
  // Training a zoo grid or writing a large table can take long; liveness comes from heartbeats.
  const main = proxyActivities<StudyActivities>({
    startToCloseTimeout: '24 hours',
    heartbeatTimeout: '5 minutes',
    retry,
  });
  const chunks = proxyActivities<StudyActivities>({
    taskQueue: studyChunkQueue(workflowInfo().taskQueue),
    startToCloseTimeout: '24 hours',
    heartbeatTimeout,
    retry: { ...retry, maximumAttempts: 100 },
  });
  const ref = {
    study: input.study,
    out: input.out,
    backend: input.backend,
    chunkCells: input.chunkCells,
  };
  const inFlight = Math.max(1, input.chunksInFlight ?? DEFAULT_CHUNKS_IN_FLIGHT);
  const perExecution = Math.max(1, input.chunksPerExecution ?? DEFAULT_CHUNKS_PER_EXECUTION);
  const generation = input.cursor?.generation ?? 0;

  let phase: StudyPhase = 'preparing';
  let prepared: PreparedStudy | undefined = input.cursor?.prepared;
  const finished = new Set<number>(input.cursor?.finished ?? []);
  const failed: FailedStudyCell[] = [...(input.cursor?.failed ?? [])];
  let measured = input.cursor?.measured ?? 0;
  let startedAt = input.cursor?.startedAt ?? 0;

  setHandler(studyProgressQuery, (): StudyProgress => {
    let cellsDone = 0;
    let pairsDone = 0;
    prepared?.chunks.forEach((c, i) => {
      const whole = finished.has(i) || c.done === c.cells;
      cellsDone += finished.has(i) ? c.cells : c.done;
      if (whole) pairsDone += c.pairs;
    });
    const seconds = (Date.now() - startedAt) / 1000;
    const rate = measured > 0 && seconds > 0 ? measured / seconds : 0;
    const left = (prepared?.cells ?? 0) - cellsDone;
    return {
      kind: 'study',
      phase,
      title: prepared?.title ?? null,
      cells: prepared?.cells ?? null,
      cellsDone,
      pairs: prepared?.pairs ?? null,
      pairsDone,
      failed: failed.length,
      rate,
      etaSeconds: rate > 0 ? left / rate : null,
      generation,
    };
  });

  if (prepared === undefined) {
    prepared = await main.prepareStudy(ref);
    startedAt = Date.now();
  }
  phase = 'measuring';
  const pending = prepared.chunks.map((_, i) => i).filter((i) => !finished.has(i));
  let started = 0;
  const lane = async (): Promise<void> => {
    while (pending.length > 0 && started < perExecution && !workflowInfo().continueAsNewSuggested) {
      const chunk = pending.shift() as number;
      started++;
      const result = await chunks.measureStudyChunk({ ...ref, chunk });
      finished.add(chunk);
      measured += result.measured;
      failed.push(...result.failed);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  if (pending.length > 0) {
    await continueAsNew<typeof studyWorkflow>({
      ...input,
      cursor: {
        prepared,
        finished: [...finished].sort((a, b) => a - b),
        failed,
        measured,
        startedAt,
        generation: generation + 1,
      },
    });
  }
  phase = 'writing';
  const done = await main.writeStudyOutputs({ ...ref, failed });
  phase = 'done';
  return done;
}

/** Errors that retrying cannot fix: a bad study file, a changed model, a bad option. */
const NON_RETRYABLE_ERRORS = [
  'StudyError',
  'StudyModelChangedError',
  'UsageError',
  'InvalidFileError',
  'SpecError',
  'TaskPlacementUnavailableError',
];
