import { resolve } from 'node:path';
import { type Data, DataType, type Table, tableFromIPC } from 'apache-arrow';
import { InvalidFileError } from '../errors.js';
import { checkArrowIPC } from '../io/arrow-ipc-check.js';
import { errnoCode, fileSystemError } from '../io/file-system-error.js';
import { readRegularFile } from '../io/read-regular-file.js';
import { DataSourceError } from './data-source-error.js';

/**
 * An Arrow IPC token file: a column `tokens` of integers, either one token per row (the whole file is one
 * stream) or a list of tokens per row (one document per row, concatenated in row order). Optional schema
 * metadata `mal.vocabulary` gives the tokenizer's vocabulary size; without it, the largest id plus one.
 */
export const TOKENS_COLUMN = 'tokens';
export const VOCABULARY_KEY = 'mal.vocabulary';

export interface TokenFile {
  /** Every token in order. */
  readonly tokens: Int32Array;
  readonly vocabulary: number;
}

export async function readTokenArrow(path: string): Promise<TokenFile> {
  let bytes: Uint8Array;
  try {
    bytes = await readRegularFile(path);
  } catch (error) {
    if (error instanceof InvalidFileError) throw error;
    if (errnoCode(error) === 'ENOENT') throw new DataSourceError(`token file not found: ${resolve(path)}`);
    throw fileSystemError(path, error, 'read the token file');
  }
  return tokensFromArrowIPC(bytes, path);
}

export function tokensFromArrowIPC(bytes: Uint8Array, file: string): TokenFile {
  checkArrowIPC(bytes, file, { notArrow: 'not an Arrow IPC file or stream' });
  let table: Table;
  try {
    table = tableFromIPC(bytes);
  } catch (error) {
    throw new InvalidFileError(file, `not an Arrow IPC file or stream (${(error as Error).message})`);
  }
  const field = table.schema.fields.find((f) => f.name === TOKENS_COLUMN);
  if (field === undefined) {
    throw new InvalidFileError(
      file,
      `no '${TOKENS_COLUMN}' column (columns: ${table.schema.fields.map((f) => f.name).join(', ') || 'none'}); a token file holds integer token ids in '${TOKENS_COLUMN}'`,
    );
  }
  const listed = DataType.isList(field.type) || DataType.isFixedSizeList(field.type);
  const valueType: DataType = listed
    ? (field.type as DataType & { valueType: DataType }).valueType
    : field.type;
  if (!DataType.isInt(valueType)) {
    throw new InvalidFileError(
      file,
      `column '${TOKENS_COLUMN}' holds ${String(field.type)}; expected integers or lists of integers`,
    );
  }
  const column = table.getChild(TOKENS_COLUMN);
  if (column === null) throw new InvalidFileError(file, `column '${TOKENS_COLUMN}' cannot be read`);
  if (column.nullCount > 0) throw new InvalidFileError(file, `column '${TOKENS_COLUMN}' has null entries`);
  const parts: ArrayLike<number | bigint>[] = [];
  for (const data of column.data) parts.push(...valuesOf(data, listed, file));
  let total = 0;
  for (const part of parts) total += part.length;
  const tokens = new Int32Array(total);
  let at = 0;
  let largest = -1;
  for (const part of parts) {
    for (let i = 0; i < part.length; i++) {
      const id = Number(part[i]);
      if (!Number.isInteger(id) || id < 0 || id >= 2 ** 24) {
        throw new InvalidFileError(file, `token ${at} is ${id}; token ids must lie in 0..2^24−1`);
      }
      tokens[at++] = id;
      largest = Math.max(largest, id);
    }
  }
  const declared = table.schema.metadata.get(VOCABULARY_KEY);
  let vocabulary = largest + 1;
  if (declared !== undefined) {
    const value = Number(declared);
    if (!Number.isInteger(value) || value < 1 || value <= largest) {
      throw new InvalidFileError(
        file,
        `metadata '${VOCABULARY_KEY}' = '${declared}' is not a vocabulary size above every id (largest ${largest})`,
      );
    }
    vocabulary = value;
  }
  return { tokens, vocabulary };
}

/** The token values of one record batch's column data, child values for lists (in row order, offsets applied). */
function valuesOf(data: Data, listed: boolean, file: string): ArrayLike<number | bigint>[] {
  if (!listed)
    return [
      (
        data.values as ArrayLike<number | bigint> & {
          subarray(a: number, b: number): ArrayLike<number | bigint>;
        }
      ).subarray(0, data.length),
    ];
  const child = data.children[0];
  if (child === undefined) throw new InvalidFileError(file, `column '${TOKENS_COLUMN}' has no list values`);
  const values = child.values as ArrayLike<number | bigint> & {
    subarray(a: number, b: number): ArrayLike<number | bigint>;
  };
  if (data.valueOffsets === undefined || data.valueOffsets === null) {
    const size = (data.type as DataType & { listSize: number }).listSize;
    return [values.subarray(data.offset * size, (data.offset + data.length) * size)];
  }
  const offsets = data.valueOffsets;
  return [values.subarray(Number(offsets[0]), Number(offsets[data.length]))];
}
