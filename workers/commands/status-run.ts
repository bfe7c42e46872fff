import { type WorkflowHandle, WorkflowNotFoundError } from '@temporalio/client';
import type { CommandIO, ParsedArgs } from '../../src/cli/command.js';
import { ASSEMBLY_OBJECTIVE, LOWER_IS_BETTER } from '../../src/cli/directions.js';
import { UsageError } from '../../src/errors.js';
import type { AssemblyProgress, FinishedRun } from '../../workflows/assembly-types.js';
import type { FinishedStudy, StudyProgress } from '../../workflows/study-types.js';
import { connectTemporalClient } from '../temporal/temporal-client.js';
import { temporalSettings } from '../temporal/temporal-settings.js';
import { describeStudyProgress } from './study-progress-line.js';

/** A query needs a live worker to answer; without one the server would hold the call open. */
const QUERY_TIMEOUT_SECONDS = 10;

function withinSeconds<T>(seconds: number, promise: Promise<T | null>): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), seconds * 1000);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export async function runStatus(args: ParsedArgs, io: CommandIO): Promise<number> {
  const runId = args.positionals[0];
  const settings = temporalSettings(args.strings);
  const { client, close } = await connectTemporalClient(settings);
  try {
    const handle = client.workflow.getHandle(runId);
    let status: string;
    let workflowType: string;
    try {
      const description = await handle.describe();
      status = description.status.name;
      workflowType = description.type;
    } catch (error) {
      if (error instanceof WorkflowNotFoundError)
        throw new UsageError(`no run '${runId}' in namespace '${settings.namespace}' at ${settings.address}`);
      throw error;
    }
    if (workflowType === 'studyWorkflow') return await studyStatus(runId, status, handle, args, io);
    let progress: AssemblyProgress | null = null;
    let result: FinishedRun | null = null;
    if (status === 'RUNNING') {
      // A run whose workers are all down cannot answer until one is back; say so rather than wait.
      progress = await withinSeconds(
        QUERY_TIMEOUT_SECONDS,
        handle.query<AssemblyProgress>('progress').catch(() => null),
      );
    } else if (status === 'COMPLETED') {
      result = (await handle.result()) as FinishedRun;
    }
    if (args.flags.has('json')) {
      io.out(
        JSON.stringify({
          run: runId,
          status,
          progress,
          result,
          directions: { objective: ASSEMBLY_OBJECTIVE },
        }),
      );
      return 0;
    }
    io.out(`run ${runId}: ${status}`);
    if (progress !== null) {
      io.out(
        `  ${progress.phase}: step ${progress.step}/${progress.budget ?? '?'}, objective ${LOWER_IS_BETTER} ${progress.objective?.toFixed(4) ?? '?'} (base ${progress.initialObjective?.toFixed(4) ?? '?'})${progress.stopping ? ', stopping after this step' : ''}`,
      );
      const a = progress.lastAccepted;
      if (a !== null)
        io.out(
          `  last accepted: ${a.model} ${a.layers.join('+')} → ${a.baseLayers.join('+')} at λ = ${a.lambda}`,
        );
    } else if (status === 'RUNNING') {
      io.out(
        '  progress unavailable: no Temporal worker answered the query (is `mal temporal-worker` running?)',
      );
    }
    if (result !== null) {
      io.out(
        `  ${result.accepted} transplant(s) in ${result.steps} step(s), objective ${LOWER_IS_BETTER} ${result.initialObjective.toFixed(4)} → ${result.finalObjective.toFixed(4)} (${result.stopReason})`,
      );
      io.out(`  model ${result.model}`);
    }
    return 0;
  } finally {
    await close();
  }
}

/** A study run's state: its progress (cells and pairs done, rate, time left) while it runs, its outcome after. */
async function studyStatus(
  runId: string,
  status: string,
  handle: WorkflowHandle,
  args: ParsedArgs,
  io: CommandIO,
): Promise<number> {
  let progress: StudyProgress | null = null;
  let result: FinishedStudy | null = null;
  if (status === 'RUNNING') {
    progress = await withinSeconds(
      QUERY_TIMEOUT_SECONDS,
      handle.query<StudyProgress>('progress').catch(() => null),
    );
  } else if (status === 'COMPLETED') {
    result = (await handle.result()) as FinishedStudy;
  }
  if (args.flags.has('json')) {
    io.out(JSON.stringify({ run: runId, kind: 'study', status, progress, result }));
    return 0;
  }
  io.out(`study run ${runId}: ${status}`);
  if (progress !== null) io.out(`  ${describeStudyProgress(progress)}`);
  else if (status === 'RUNNING')
    io.out(
      '  progress unavailable: no Temporal worker answered the query (is `mal temporal-worker` running?)',
    );
  if (result !== null) {
    io.out(
      `  ${result.rows} of ${result.cells} cells measured over ${result.pairs} ordered pairs${result.failed > 0 ? `, ${result.failed} failed` : ''}`,
    );
    io.out(`  table ${result.files.arrow}`);
    io.out(`  report ${result.files.report}`);
  }
  return 0;
}
