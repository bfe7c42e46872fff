/**
 * What the study workflow and its activities exchange. The cells themselves never travel through Temporal: the
 * prepare activity writes them to `<out>/cells.json`, and chunks are named by index, so the history holds counts.
 */

/** The study a workflow drives: the study file and output folder as the workers see them (a shared path). */
export interface StudyRunRef {
  readonly study: string;
  readonly out: string;
  /** Backend preference; default: the study's. `auto` is resolved once, by the prepare activity. */
  readonly backend?: string;
  /** Most cells per chunk (whole pairs only; a pair with more cells is a chunk of its own). Default 16. */
  readonly chunkCells?: number;
}

/** A chunk: consecutive whole pairs of the study's cells. */
export interface StudyChunkInfo {
  readonly cells: number;
  readonly pairs: number;
  /** Cells of the chunk with a row already when the study was prepared. */
  readonly done: number;
}

export interface PreparedStudy {
  readonly title: string;
  /** The backend every cell is measured on (resolved). */
  readonly backend: string;
  readonly cells: number;
  readonly pairs: number;
  readonly chunks: readonly StudyChunkInfo[];
}

export interface StudyChunkInput extends StudyRunRef {
  readonly chunk: number;
}

/** A cell that could not be measured, and why (as study.json lists it). */
export interface FailedStudyCell {
  readonly cell: string;
  readonly base: string;
  readonly target: string;
  readonly position: string;
  readonly aligned: boolean;
  readonly reason: string;
}

export interface StudyChunkResult {
  readonly chunk: number;
  /** Cells this activity had measured (their rows arrived and were written). */
  readonly measured: number;
  /** Cells whose rows were there before. */
  readonly reused: number;
  readonly failed: readonly FailedStudyCell[];
}

export interface WriteStudyInput extends StudyRunRef {
  readonly failed: readonly FailedStudyCell[];
}

export interface FinishedStudy {
  readonly title: string;
  readonly cells: number;
  readonly rows: number;
  readonly failed: number;
  readonly pairs: number;
  readonly files: {
    readonly arrow: string;
    readonly csv: string;
    readonly summary: string;
    readonly report: string;
  };
}

/** Where a study stands, carried across continue-as-new. */
export interface StudyCursor {
  readonly prepared: PreparedStudy;
  /** Indices of the chunks finished. */
  readonly finished: readonly number[];
  readonly failed: readonly FailedStudyCell[];
  /** Cells measured by this run so far, and when (ms since the epoch, workflow time) measuring began. */
  readonly measured: number;
  readonly startedAt: number;
  readonly generation: number;
}

export interface StudyWorkflowInput extends StudyRunRef {
  /** Chunks measured at once (default 4): each keeps its cells queued on the task workers. */
  readonly chunksInFlight?: number;
  /** Chunks per workflow execution before continue-as-new (default 200). */
  readonly chunksPerExecution?: number;
  /** Heartbeat timeout of the chunk activity, in seconds (default 60): how soon a dead worker's chunk is retried. */
  readonly heartbeatTimeoutSeconds?: number;
  readonly cursor?: StudyCursor;
}

export type StudyPhase = 'preparing' | 'measuring' | 'writing' | 'done';

/** The answer to the study workflow's `progress` query. */
export interface StudyProgress {
  readonly kind: 'study';
  readonly phase: StudyPhase;
  readonly title: string | null;
  readonly cells: number | null;
  /** Cells with a row (or failed for good). */
  readonly cellsDone: number;
  readonly pairs: number | null;
  /** Pairs all of whose cells are done. */
  readonly pairsDone: number;
  readonly failed: number;
  /** Cells measured per second by this run (0 before the first chunk finishes). */
  readonly rate: number;
  /** Seconds left at that rate; null before the first chunk finishes. */
  readonly etaSeconds: number | null;
  readonly generation: number;
}

/** The activities the study workflow calls; implemented by workers/temporal/study-activities.ts. */
export interface StudyActivities {
  prepareStudy(ref: StudyRunRef): Promise<PreparedStudy>;
  measureStudyChunk(input: StudyChunkInput): Promise<StudyChunkResult>;
  writeStudyOutputs(input: WriteStudyInput): Promise<FinishedStudy>;
}

/** The task queue of the chunk activities: `<workflow queue>-study`, served with more activities at once. */
export function studyChunkQueue(workflowQueue: string): string {
  return `${workflowQueue}-study`;
}
