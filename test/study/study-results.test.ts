import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidFileError } from '../../src/errors.js';
import { CELLS_FOLDER, readCellRow } from '../../src/study/study-results.js';
import { scratch } from './study-fixtures.js';

describe("a study's cell files", () => {
  let dir: { path: string; remove: () => Promise<void> };
  beforeAll(async () => {
    dir = await scratch();
  });
  afterAll(async () => {
    await dir?.remove();
  });

  it('has no row for a missing cell file', async () => {
    expect(await readCellRow(dir.path, 'a'.repeat(64))).toBeUndefined();
  });

  it('refuses a folder where a cell file belongs, naming it, instead of an internal error', async () => {
    const address = 'b'.repeat(64);
    const path = join(dir.path, CELLS_FOLDER, `${address}.json`);
    await mkdir(path, { recursive: true });
    const read = readCellRow(dir.path, address);
    await expect(read).rejects.toThrow(InvalidFileError);
    await expect(read).rejects.toThrow(`${path}: cannot read: is a folder where a file is expected`);
  });
});
