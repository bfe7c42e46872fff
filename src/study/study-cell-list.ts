import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic-file.js';
import type { StudyCell } from './study-cell.js';
import { StudyError } from './study-file.js';

/*
 * A prepared study as a file, `<out>/cells.json`: every cell in study order, cut into chunks of whole pairs, and
 * the backend they name. A cluster run writes it once and each chunk
 * activity reads its slice from it, so no cell list travels through the workflow's history.
 */

export const CELL_LIST_FILE = 'cells.json';

export interface StudyCellChunk {
  /** Cells `[start, end)` of the list. */
  readonly start: number;
  readonly end: number;
  readonly pairs: number;
}

export interface StudyCellList {
  readonly version: 1;
  readonly backend: string;
  readonly pairs: number;
  readonly chunks: readonly StudyCellChunk[];
  readonly cells: readonly StudyCell[];
}

/**
 * Cuts the cells (in study order: a pair's cells are consecutive) into chunks of at most `maxCells` cells made of
 * whole pairs, so a finished chunk is a number of finished pairs; a pair with more cells is a chunk alone.
 */
export function chunkStudyCells(cells: readonly StudyCell[], maxCells: number): StudyCellChunk[] {
  const pairs: { start: number; end: number }[] = [];
  cells.forEach((cell, i) => {
    const last = pairs.at(-1);
    const previous = i === 0 ? undefined : cells[i - 1];
    if (last !== undefined && previous !== undefined && samePair(previous, cell)) last.end = i + 1;
    else pairs.push({ start: i, end: i + 1 });
  });
  const chunks: StudyCellChunk[] = [];
  let current: { start: number; end: number; pairs: number } | undefined;
  for (const pair of pairs) {
    if (current !== undefined && pair.end - current.start <= maxCells) {
      current.end = pair.end;
      current.pairs++;
    } else {
      if (current !== undefined) chunks.push(current);
      current = { start: pair.start, end: pair.end, pairs: 1 };
    }
  }
  if (current !== undefined) chunks.push(current);
  return chunks;
}

function samePair(a: StudyCell, b: StudyCell): boolean {
  return a.base.id === b.base.id && a.target.id === b.target.id;
}

export async function writeStudyCellList(out: string, list: StudyCellList): Promise<void> {
  await writeFileAtomic(join(out, CELL_LIST_FILE), `${JSON.stringify(list)}\n`);
}

let cached: { path: string; mtimeMs: number; size: number; list: StudyCellList } | undefined;

/** The cell list of `out` (the last one read is kept while the file is unchanged: every chunk reads it). */
export async function readStudyCellList(out: string): Promise<StudyCellList> {
  const path = join(out, CELL_LIST_FILE);
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    throw new StudyError(`${path}: no cell list; the study was not prepared in this folder`);
  }
  if (cached?.path === path && cached.mtimeMs === info.mtimeMs && cached.size === info.size)
    return cached.list;
  const list = JSON.parse(await readFile(path, 'utf8')) as StudyCellList;
  if (list.version !== 1 || !Array.isArray(list.cells) || !Array.isArray(list.chunks))
    throw new StudyError(`${path}: not a study cell list of this version of mal; prepare the study again`);
  cached = { path, mtimeMs: info.mtimeMs, size: Number(info.size), list };
  return list;
}
