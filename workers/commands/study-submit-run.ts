import { resolve } from 'node:path';
import type { CommandIO, ParsedArgs } from '../../src/cli/command.js';
import { numberOption } from '../../src/cli/command.js';
import { studyCommand as embeddedStudyCommand } from '../../src/cli/commands/study.js';
import { UsageError } from '../../src/errors.js';
import { checkOutputFolderFree } from '../../src/io/output-folder-lock.js';
import { sha256 } from '../../src/store/content-store.js';
import { loadStudyFile } from '../../src/study/study-file.js';
import { studyName } from '../../src/study/study-schema.js';
import type { FinishedStudy, StudyProgress, StudyWorkflowInput } from '../../workflows/study-types.js';
import { connectTemporalClient, startWorkflowRun } from '../temporal/temporal-client.js';
import { temporalSettings } from '../temporal/temporal-settings.js';
import { describeStudyProgress } from './study-progress-line.js';

/** Options of `mal study` that only mean something with --cluster. */
const CLUSTER_ONLY_OPTIONS = [
  'wait',
  'id',
  'chunk-cells',
  'chunks-per-execution',
  'heartbeat-timeout',
] as const;

/** How often `--wait` asks the run for its progress. */
const PROGRESS_POLL_MS = 2_000;

/** `mal study` without --cluster: the embedded command, once the cluster-only options are known to be absent. */
export async function runEmbeddedStudy(args: ParsedArgs, io: CommandIO): Promise<number> {
  const given = CLUSTER_ONLY_OPTIONS.find(
    (o) => args.flags.has(o) || args.strings.has(o) || args.numbers.has(o),
  );
  if (given !== undefined) throw new UsageError(`--${given} needs --cluster`);
  return embeddedStudyCommand.run(args, io);
}

/** `mal study <study> --cluster`: submits the study workflow, prints the run id, and with --wait follows it. */
export async function runStudySubmit(args: ParsedArgs, io: CommandIO): Promise<number> {
  if (args.numbers.has('threads'))
    throw new UsageError('--threads is for the embedded run; on the cluster, size the task workers instead');
  const studyPath = resolve(args.positionals[0]);
  // Fail here, not in a worker later, on a study file that cannot run.
  const study = await loadStudyFile(studyPath);
  const out = resolve(args.strings.get('out') ?? study.out);
  // An embedded study writing there now would race the run's cell files and outputs: say so before submitting.
  await checkOutputFolderFree(out);
  const backend = args.strings.get('backend');
  const chunkCells = numberOption(args, 'chunk-cells');
  const chunksPerExecution = numberOption(args, 'chunks-per-execution');
  const heartbeatTimeoutSeconds = numberOption(args, 'heartbeat-timeout');
  const runId =
    args.strings.get('id') ??
    `study-${studyName(studyPath)}-${sha256(`${studyPath}\n${out}\n${Date.now()}`).slice(0, 10)}`;
  const settings = temporalSettings(args.strings);
  const { client, close } = await connectTemporalClient(settings);
  try {
    const input: StudyWorkflowInput = {
      study: studyPath,
      out,
      ...(backend === undefined ? {} : { backend }),
      ...(chunkCells === undefined ? {} : { chunkCells }),
      ...(chunksPerExecution === undefined ? {} : { chunksPerExecution }),
      ...(heartbeatTimeoutSeconds === undefined ? {} : { heartbeatTimeoutSeconds }),
    };
    const handle = await startWorkflowRun(client, settings, 'studyWorkflow', runId, input);
    io.out(runId);
    io.err(`submitted study ${studyPath} → ${out} on task queue '${settings.taskQueue}'`);
    if (!args.flags.has('wait')) return 0;
    const result = handle.result() as Promise<FinishedStudy>;
    let settled = false;
    void result.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    while (!settled) {
      const progress = await handle.query<StudyProgress>('progress').catch(() => null);
      if (progress !== null) io.progress(describeStudyProgress(progress));
      await Promise.race([result.catch(() => undefined), delay(PROGRESS_POLL_MS)]);
    }
    const finished = await result;
    if (args.flags.has('json')) {
      io.out(JSON.stringify({ run: runId, ...finished }));
    } else {
      io.out(
        `study ${finished.title}: ${finished.rows} of ${finished.cells} cells measured over ${finished.pairs} ordered pairs${finished.failed > 0 ? `, ${finished.failed} failed (see study.json)` : ''}`,
      );
      for (const file of Object.values(finished.files)) io.out(`wrote ${file}`);
    }
    return finished.failed > 0 ? 1 : 0;
  } finally {
    await close();
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
