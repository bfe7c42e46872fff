import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { type BackendPreference, initBackend } from '../compute/backend.js';
import { MalError } from '../errors.js';
import { removeOrphanedTemporaries } from '../io/atomic-file.js';
import { disableOnnxruntimeTelemetry } from '../linalg/onnxruntime-telemetry.js';
import type { StudyCell } from './study-cell.js';
import { studyCellAddress } from './study-cell-address.js';
import type { StudyCellOutcome, StudyCellTask } from './study-cell-thread.js';
import studyCellThread from './study-cell-thread.js';
import { expandStudyCells } from './study-cells.js';
import { checkStudyOutputPlace } from './study-output-place.js';
import { type FailedCell, type StudyFiles, writeStudyOutputs } from './study-outputs.js';
import {
  CELLS_FOLDER,
  decodeStudyRow,
  encodeStudyRow,
  pruneCellFiles,
  studyProgressState,
  writeCellRow,
} from './study-results.js';
import type { StudyRow } from './study-row.js';
import type { Study } from './study-schema.js';
import { resolveStudyZoo } from './study-zoo.js';

export type { FailedCell } from './study-outputs.js';

export interface StudyProgress {
  readonly done: number;
  readonly total: number;
  /** Cells measured per second in this run so far. */
  readonly rate: number;
  /** Seconds left at that rate; undefined before the first cell finishes. */
  readonly etaSeconds: number | undefined;
}

export interface RunStudyOptions {
  readonly out: string;
  /** Threads measuring cells; 1 measures them in this thread. */
  readonly threads: number;
  readonly backend: BackendPreference;
  /** Zoo training and other stages, as lines. */
  readonly onStage?: (line: string) => void;
  readonly onProgress?: (progress: StudyProgress) => void;
  /** After the outputs are written, remove the cell files of cells this study no longer has. */
  readonly prune?: boolean;
}

export interface StudyOutcome {
  readonly rows: readonly StudyRow[];
  readonly cells: number;
  /** Cells measured by this run, and cells whose rows an earlier run left. */
  readonly measured: number;
  readonly reused: number;
  /** Cell files found but not trusted, and measured again. */
  readonly rejected: number;
  readonly failed: readonly FailedCell[];
  readonly pairs: number;
  readonly excludedPairs: number;
  /** Cell files removed by `prune` (0 without it). */
  readonly pruned: number;
  readonly files: StudyFiles;
}

/**
 * `mal study` embedded: resolves (or trains) the zoo, expands the cells, measures the ones `<out>/cells` has no
 * valid row for on a pool of threads (each row written as it finishes), then writes the table, the summary and
 * the report from all rows.
 */
export async function runStudy(study: Study, options: RunStudyOptions): Promise<StudyOutcome> {
  const { out } = options;
  checkStudyOutputPlace(study, out);
  // Resolved here, once: `auto` must name one backend in every cell's address.
  const backend = (await initBackend(options.backend)).name;
  const models = await resolveStudyZoo(study, backend, { onProgress: options.onStage });
  const expansion = expandStudyCells(study, models, backend);
  const cellsFolder = join(out, CELLS_FOLDER);
  await mkdir(cellsFolder, { recursive: true });
  await removeOrphanedTemporaries(cellsFolder);
  const state = await studyProgressState(out, expansion.cells);
  const total = state.done.size + state.missing.length;
  options.onStage?.(
    `${total} cells (${expansion.pairs} pairs), ${state.done.size} measured before, ${state.missing.length} to measure`,
  );
  const rows = new Map(state.done);
  const failed: FailedCell[] = [];
  const started = performance.now();
  let measured = 0;
  const report = (): void => {
    const seconds = (performance.now() - started) / 1000;
    const rate = seconds > 0 ? measured / seconds : 0;
    options.onProgress?.({
      done: rows.size + failed.length,
      total,
      rate,
      etaSeconds: measured === 0 ? undefined : (total - rows.size - failed.length) / rate,
    });
  };
  report();
  const measure = measurer(options.threads);
  try {
    await Promise.all(
      state.missing.map(async ({ address, cell }) => {
        const outcome = await measure.run({ cell, dataDir: study.data.dataDir });
        if (outcome.ok) {
          if (outcome.row.cell !== address) {
            throw new Error(`cell ${address} came back as ${outcome.row.cell}; this is a bug`);
          }
          await writeCellRow(out, outcome.row);
          // The table is made from rows as their files hold them (−0 is 0 there), so a resumed run's is the same.
          const stored = decodeStudyRow(encodeStudyRow(outcome.row), address);
          if (stored === undefined)
            throw new Error(`the row of cell ${address} does not read back; this is a bug`);
          rows.set(address, stored);
          measured++;
        } else if (outcome.permanent) {
          failed.push(failedCell(address, cell, outcome.message));
        } else {
          throw new StudyCellError(`${outcome.name}: ${outcome.message} (cell ${describeCell(cell)})`);
        }
        report();
      }),
    );
  } finally {
    await measure.close();
  }
  failed.sort((a, b) => (a.cell < b.cell ? -1 : a.cell > b.cell ? 1 : 0));
  const { rows: unique, files } = await writeStudyOutputs(study, out, models, expansion, rows, failed);
  const pruned =
    options.prune === true
      ? await pruneCellFiles(out, new Set(expansion.cells.map((cell) => studyCellAddress(cell))))
      : 0;
  return {
    pruned,
    rows: unique,
    cells: total,
    measured,
    reused: state.done.size,
    rejected: state.rejected,
    failed,
    pairs: expansion.pairs,
    excludedPairs: expansion.excludedPairs,
    files,
  };
}

/** A cell failed for a reason that is not the input's (a bug, a crash of its thread): the study stops. */
export class StudyCellError extends MalError {
  override readonly name = 'StudyCellError';
}

function describeCell(cell: StudyCell): string {
  return `${cell.base.id} ← ${cell.target.id} at ${cell.position}${cell.aligned ? '' : ', naive'}`;
}

function failedCell(address: string, cell: StudyCell, reason: string): FailedCell {
  return {
    cell: address,
    base: cell.base.id,
    target: cell.target.id,
    position: cell.position,
    aligned: cell.aligned,
    reason,
  };
}

interface Measurer {
  run(task: StudyCellTask): Promise<StudyCellOutcome>;
  close(): Promise<void>;
}

/** One thread: cells run here, one at a time; more: a Piscina pool of that many threads. */
function measurer(threads: number): Measurer {
  if (threads <= 1) {
    let queue: Promise<unknown> = Promise.resolve();
    let closed = false;
    return {
      run: (task) => {
        // After a failure the study stops: cells still queued are not measured.
        const next = queue.then(() =>
          closed ? Promise.reject(new Error('the study stopped')) : studyCellThread(task),
        );
        queue = next.catch(() => undefined);
        return next;
      },
      close: async () => {
        closed = true;
      },
    };
  }
  // Compiled code runs the .js module; sources (tests, tsx) run the .ts file through tsx.
  const fromSource = import.meta.url.endsWith('.ts');
  disableOnnxruntimeTelemetry();
  const pool = new Piscina<StudyCellTask, StudyCellOutcome>({
    filename: fileURLToPath(new URL(`./study-cell-thread.${fromSource ? 'ts' : 'js'}`, import.meta.url)),
    minThreads: threads,
    maxThreads: threads,
    execArgv: fromSource ? ['--import', 'tsx'] : [],
  });
  return { run: (task) => pool.run(task), close: () => pool.destroy() };
}
