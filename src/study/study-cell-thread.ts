/**
 * The Piscina task module of an embedded study: measures one cell per task. Each thread keeps its models and
 * data sets in memory across tasks. Errors come back as values (a MalError's class does not survive the trip
 * between threads, and the runner must tell a cell that cannot be measured from a bug).
 */
import { MalError } from '../errors.js';
import { runStudyCell } from './run-study-cell.js';
import type { StudyCell } from './study-cell.js';
import { createStudyResources, type StudyCellResources } from './study-resources.js';
import type { StudyRow } from './study-row.js';

export interface StudyCellTask {
  readonly cell: StudyCell;
  readonly dataDir: string | undefined;
}

export type StudyCellOutcome =
  | { readonly ok: true; readonly row: StudyRow }
  | { readonly ok: false; readonly permanent: boolean; readonly name: string; readonly message: string };

let resources: { key: string; value: StudyCellResources } | undefined;

export default async function studyCellThread(task: StudyCellTask): Promise<StudyCellOutcome> {
  // The cell names its backend: the row must not depend on where, or by whom, it was measured.
  const key = `${task.cell.backend}\u0000${task.dataDir ?? ''}`;
  if (resources?.key !== key) {
    resources = { key, value: createStudyResources({ backend: task.cell.backend, dataDir: task.dataDir }) };
  }
  try {
    return { ok: true, row: await runStudyCell(task.cell, resources.value) };
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    return { ok: false, permanent: error instanceof MalError, name: e.name, message: e.message };
  }
}
