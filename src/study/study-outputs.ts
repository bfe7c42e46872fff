import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic-file.js';
import { renderStudyReport } from '../report/study-report.js';
import type { StudyCell } from './study-cell.js';
import { studyCellAddress } from './study-cell-address.js';
import type { StudyModelInfo, StudyRow } from './study-row.js';
import type { Study } from './study-schema.js';
import { studyTableArrow, studyTableCsv } from './study-table.js';

/** A cell that could not be measured (a MalError: it would fail the same way again), and why. */
export interface FailedCell {
  readonly cell: string;
  readonly base: string;
  readonly target: string;
  readonly position: string;
  readonly aligned: boolean;
  readonly reason: string;
}

export interface StudyOutputFiles {
  readonly arrow: string;
  readonly csv: string;
  readonly summary: string;
  readonly report: string;
}

/** What the outputs are made from: the expanded cells, their measured rows, the failures, the zoo. */
export interface StudyOutputInput {
  readonly cells: readonly StudyCell[];
  /** Rows by cell address; cells without one are left out of the table. */
  readonly rows: ReadonlyMap<string, StudyRow>;
  readonly failed: readonly FailedCell[];
  readonly pairs: number;
  readonly eligiblePairs: number;
  readonly excludedPairs: number;
  readonly models: readonly StudyModelInfo[];
}

/**
 * Writes study.arrow, study.csv, study.json and report.html from the rows alone (in cell order, each address
 * once; the table sorts them by address), so the embedded runner and the cluster's last activity, given the same
 * rows, write the same bytes.
 */
export async function writeStudyOutputs(
  study: Study,
  out: string,
  input: StudyOutputInput,
): Promise<{ readonly rows: readonly StudyRow[]; readonly files: StudyOutputFiles }> {
  const ordered = input.cells.map(studyCellAddress).flatMap((a) => {
    const row = input.rows.get(a);
    return row === undefined ? [] : [row];
  });
  const unique = [...new Map(ordered.map((r) => [r.cell, r])).values()];
  const files = {
    arrow: join(out, 'study.arrow'),
    csv: join(out, 'study.csv'),
    summary: join(out, 'study.json'),
    report: join(out, 'report.html'),
  };
  const failed = [...input.failed].sort((a, b) => (a.cell < b.cell ? -1 : a.cell > b.cell ? 1 : 0));
  await writeFileAtomic(files.arrow, studyTableArrow(unique));
  await writeFileAtomic(files.csv, studyTableCsv(unique));
  await writeFileAtomic(
    files.summary,
    `${JSON.stringify(
      {
        title: study.title,
        studyFile: study.file,
        cells: unique.length,
        failed,
        pairs: input.pairs,
        eligiblePairs: input.eligiblePairs,
        excludedPairs: input.excludedPairs,
        models: input.models,
      },
      null,
      2,
    )}\n`,
  );
  await writeFileAtomic(
    files.report,
    renderStudyReport(unique, {
      title: study.title,
      studyFile: study.file,
      models: [...input.models],
      excludedPairs: input.excludedPairs,
    }),
  );
  return { rows: unique, files };
}
