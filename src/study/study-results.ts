import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../io/atomic-file.js';
import { fileSystemError } from '../io/file-system-error.js';
import type { StudyCell } from './study-cell.js';
import { studyCellAddress } from './study-cell-address.js';
import { DATA_RELATIONS, type StudyRow } from './study-row.js';

/*
 * The durable state of a study: one file per measured cell, `<out>/cells/<address>.json`, holding its row and
 * written atomically. A run measures exactly the addresses with no valid file, so a run killed at any point
 * resumes without measuring a finished cell again, and an embedded run and a cluster run fill the same folder.
 */

export const CELLS_FOLDER = 'cells';

export function cellFilePath(out: string, address: string): string {
  return join(out, CELLS_FOLDER, `${address}.json`);
}

/** JSON has no NaN or ±Infinity; a diverged curve's losses are kept as these strings. */
const nonFinite = z.enum(['NaN', 'Infinity', '-Infinity']).transform(Number);
const measured = z.union([z.number(), nonFinite]);
const count = z.number().int().min(0);
const curve = z.array(measured).min(2);

const rowSchema = z
  .strictObject({
    cell: z.string().regex(/^[0-9a-f]{64}$/),
    base: z.string(),
    target: z.string(),
    baseArch: z.string(),
    targetArch: z.string(),
    baseFamily: z.string(),
    targetFamily: z.string(),
    baseDepth: count,
    targetDepth: count,
    baseData: z.string(),
    targetData: z.string(),
    relation: z.enum(DATA_RELATIONS as ['same', 'different', 'split']),
    position: z.union([
      z.enum(['first', 'middle', 'last', 'all']),
      z.templateLiteral(['layer-', z.number()]),
    ]),
    baseLayers: z.string(),
    targetLayers: z.string(),
    baseWidth: count,
    targetWidth: count,
    widthRatio: measured,
    aligned: z.boolean(),
    evalData: z.string(),
    evalExamples: count,
    lambdas: curve,
    losses: curve,
    accuracies: curve,
    meanLoss: measured,
    barrier: measured,
    threshold: measured,
    accuracyAtHalf: measured,
  })
  .refine((r) => r.losses.length === r.lambdas.length && r.accuracies.length === r.lambdas.length);

/** A row as its cell file holds it: canonical key order, non-finite numbers as strings, one line. */
export function encodeStudyRow(row: StudyRow): string {
  return `${JSON.stringify(row, (_key, value) =>
    typeof value === 'number' && !Number.isFinite(value) ? String(value) : value,
  )}\n`;
}

/** The row a cell file holds, or undefined when the file is missing, truncated, malformed or not this cell's. */
export function decodeStudyRow(text: string, address: string): StudyRow | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const row = rowSchema.safeParse(parsed);
  if (!row.success || row.data.cell !== address) return undefined;
  return row.data as StudyRow;
}

export async function writeCellRow(out: string, row: StudyRow): Promise<void> {
  await writeFileAtomic(cellFilePath(out, row.cell), encodeStudyRow(row));
}

export async function readCellRow(out: string, address: string): Promise<StudyRow | undefined> {
  const path = cellFilePath(out, address);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    // A read's error (EISDIR, EIO) carries no path: name the cell file, or the user gets an internal error.
    throw fileSystemError(path, error, 'read');
  }
  return decodeStudyRow(text, address);
}

export interface StudyProgressState {
  /** Rows of the cells already measured, by address. */
  readonly done: ReadonlyMap<string, StudyRow>;
  /** The cells still to measure, in study order, each once (equal cells share an address). */
  readonly missing: readonly { readonly address: string; readonly cell: StudyCell }[];
  /** Cell files that were there but not trusted (truncated, malformed, another cell's row): measured again. */
  readonly rejected: number;
}

/** Which cells of the study have a valid row in `out` and which must still be measured. */
export async function studyProgressState(
  out: string,
  cells: readonly StudyCell[],
): Promise<StudyProgressState> {
  const present = new Set(await cellsFolderNames(out));
  const done = new Map<string, StudyRow>();
  const missing: { address: string; cell: StudyCell }[] = [];
  const seen = new Set<string>();
  let rejected = 0;
  for (const cell of cells) {
    const address = studyCellAddress(cell);
    if (seen.has(address)) continue;
    seen.add(address);
    const row = present.has(`${address}.json`) ? await readCellRow(out, address) : undefined;
    if (row !== undefined) done.set(address, row);
    else {
      if (present.has(`${address}.json`)) rejected++;
      missing.push({ address, cell });
    }
  }
  return { done, missing, rejected };
}

/** A cell file's name: its 64-hex address and `.json`. Nothing else in the folder is a cell's. */
const CELL_FILE = /^[0-9a-f]{64}\.json$/;

/**
 * Removes the cell files of cells not in `keep` (rows of cells an earlier version of the study, or another
 * backend, had): they would otherwise stay for ever, as nothing reads them. Returns how many were removed.
 */
export async function pruneCellFiles(out: string, keep: ReadonlySet<string>): Promise<number> {
  const folder = join(out, CELLS_FOLDER);
  let removed = 0;
  for (const name of await cellsFolderNames(out)) {
    if (!CELL_FILE.test(name) || keep.has(name.slice(0, -'.json'.length))) continue;
    await rm(join(folder, name), { force: true });
    removed++;
  }
  return removed;
}

/** The names in the study's cells folder; none before its first cell. */
async function cellsFolderNames(out: string): Promise<string[]> {
  return readdir(join(out, CELLS_FOLDER)).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [] as string[];
    throw error;
  });
}
