import {
  Bool,
  type DataType,
  Field,
  Float64,
  Int32,
  List,
  Table,
  tableToIPC,
  Utf8,
  type Vector,
  vectorFromArray,
} from 'apache-arrow';
import type { StudyRow } from './study-row.js';

/*
 * The study's result table, from its rows alone: an Arrow IPC file (list columns for the curve) and a CSV, both
 * sorted by cell address and free of timestamps, so the same rows give the same bytes wherever they were measured.
 */

type Kind = 'string' | 'int' | 'float' | 'bool' | 'curve';

/** Every column, in StudyRow's order, with its type. */
export const STUDY_COLUMNS: readonly (readonly [keyof StudyRow, Kind])[] = [
  ['cell', 'string'],
  ['base', 'string'],
  ['target', 'string'],
  ['baseArch', 'string'],
  ['targetArch', 'string'],
  ['baseFamily', 'string'],
  ['targetFamily', 'string'],
  ['baseDepth', 'int'],
  ['targetDepth', 'int'],
  ['baseData', 'string'],
  ['targetData', 'string'],
  ['relation', 'string'],
  ['position', 'string'],
  ['baseLayers', 'string'],
  ['targetLayers', 'string'],
  ['baseWidth', 'int'],
  ['targetWidth', 'int'],
  ['widthRatio', 'float'],
  ['aligned', 'bool'],
  ['evalData', 'string'],
  ['evalExamples', 'int'],
  ['lambdas', 'curve'],
  ['losses', 'curve'],
  ['accuracies', 'curve'],
  ['meanLoss', 'float'],
  ['barrier', 'float'],
  ['threshold', 'float'],
  ['accuracyAtHalf', 'float'],
];

/** The rows in table order: by cell address. */
export function sortStudyRows(rows: readonly StudyRow[]): StudyRow[] {
  return [...rows].sort((a, b) => (a.cell < b.cell ? -1 : a.cell > b.cell ? 1 : 0));
}

function arrowType(kind: Kind): DataType {
  switch (kind) {
    case 'string':
      return new Utf8();
    case 'int':
      return new Int32();
    case 'float':
      return new Float64();
    case 'bool':
      return new Bool();
    case 'curve':
      return new List(new Field('item', new Float64(), false));
  }
}

/** The rows as an Arrow IPC file (sorted by cell; no schema metadata). */
export function studyTableArrow(rows: readonly StudyRow[]): Uint8Array {
  const sorted = sortStudyRows(rows);
  const columns: Record<string, Vector> = {};
  for (const [name, kind] of STUDY_COLUMNS) {
    const values = sorted.map((r) => (kind === 'curve' ? [...(r[name] as readonly number[])] : r[name]));
    columns[name] = vectorFromArray(values, arrowType(kind));
  }
  return tableToIPC(new Table(columns), 'file');
}

/** A number as text that reads back to the same double (JavaScript's shortest round-trip form). */
export function formatNumber(value: number): string {
  return Object.is(value, -0) ? '0' : String(value);
}

function csvField(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The rows as CSV (sorted by cell): a header of column names, curves as `;`-joined numbers. */
export function studyTableCsv(rows: readonly StudyRow[]): string {
  const lines = [STUDY_COLUMNS.map(([name]) => name).join(',')];
  for (const row of sortStudyRows(rows)) {
    lines.push(STUDY_COLUMNS.map(([name, kind]) => csvValue(row[name], kind)).join(','));
  }
  return `${lines.join('\n')}\n`;
}

function csvValue(value: StudyRow[keyof StudyRow], kind: Kind): string {
  switch (kind) {
    case 'curve':
      return (value as readonly number[]).map(formatNumber).join(';');
    case 'int':
    case 'float':
      return formatNumber(value as number);
    case 'bool':
      return value ? 'true' : 'false';
    case 'string':
      return csvField(value as string);
  }
}
