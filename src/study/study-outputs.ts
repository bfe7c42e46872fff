import { basename, join } from 'node:path';
import { writeFileAtomic } from '../io/atomic-file.js';
import { renderStudyReport } from '../report/study-report.js';
import { studyCellAddress } from './study-cell-address.js';
import type { StudyCells } from './study-cells.js';
import type { StudyModelInfo, StudyRow } from './study-row.js';
import type { Study } from './study-schema.js';
import { studyTableArrow, studyTableCsv } from './study-table.js';
import type { StudyZooModel } from './study-zoo.js';

/** A cell that could not be measured (a MalError: it would fail the same way again), and why. */
export interface FailedCell {
  readonly cell: string;
  readonly base: string;
  readonly target: string;
  readonly position: string;
  readonly aligned: boolean;
  readonly reason: string;
}

export interface StudyFiles {
  readonly arrow: string;
  readonly csv: string;
  readonly summary: string;
  readonly report: string;
}

/**
 * Writes what a study gives from its rows: the table (Arrow, CSV), the summary and the report. Whoever measured
 * the rows (the embedded runner, a cluster), the same rows give the same bytes: nothing here depends on the run
 * (the study file is named by its file name, not the path it was given by).
 * `rows` may hold rows of other studies in the same folder; only this study's cells are written.
 */
export async function writeStudyOutputs(
  study: Study,
  out: string,
  models: readonly StudyZooModel[],
  expansion: StudyCells,
  rows: ReadonlyMap<string, StudyRow>,
  failed: readonly FailedCell[],
): Promise<{ rows: StudyRow[]; files: StudyFiles }> {
  const unique = new Map<string, StudyRow>();
  for (const cell of expansion.cells) {
    const address = studyCellAddress(cell);
    const row = rows.get(address);
    if (row !== undefined) unique.set(address, row);
  }
  const measured = [...unique.values()];
  const infos: StudyModelInfo[] = models.map(({ model: { path: _p, specPath: _s, ...info } }) => info);
  const files: StudyFiles = {
    arrow: join(out, 'study.arrow'),
    csv: join(out, 'study.csv'),
    summary: join(out, 'study.json'),
    report: join(out, 'report.html'),
  };
  await writeFileAtomic(files.arrow, studyTableArrow(measured));
  await writeFileAtomic(files.csv, studyTableCsv(measured));
  const sortedFailures = [...failed].sort((a, b) => (a.cell < b.cell ? -1 : a.cell > b.cell ? 1 : 0));
  await writeFileAtomic(
    files.summary,
    `${JSON.stringify(
      {
        title: study.title,
        studyFile: basename(study.file),
        cells: measured.length,
        failed: sortedFailures,
        pairs: expansion.pairs,
        eligiblePairs: expansion.eligiblePairs,
        excludedPairs: expansion.excludedPairs,
        models: infos,
      },
      null,
      2,
    )}\n`,
  );
  await writeFileAtomic(
    files.report,
    renderStudyReport(measured, {
      title: study.title,
      studyFile: basename(study.file),
      models: infos,
      excludedPairs: expansion.excludedPairs,
    }),
  );
  return { rows: measured, files };
}
