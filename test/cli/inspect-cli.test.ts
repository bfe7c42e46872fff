import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSafetensorsTensors } from '../../src/io/safetensors-writer.js';
import type { RawTensor } from '../../src/tensor/tensor.js';
import { runMal } from '../support/run-mal.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mal-inspect-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const f32 = (shape: number[]): RawTensor => ({
  dtype: 'F32',
  shape,
  bytes: new Uint8Array(4 * shape.reduce((a, b) => a * b, 1)),
});

describe('mal inspect', () => {
  it('lines the columns up whatever the dtype and shape lengths (F8_E4M3FNUZ, a wide shape)', async () => {
    const path = join(dir, 'fp8.safetensors');
    await writeSafetensorsTensors(
      path,
      new Map<string, RawTensor>([
        ['fc1.weight', { dtype: 'F8_E4M3FNUZ', shape: [1024, 2048], bytes: new Uint8Array(1024 * 2048) }],
        ['fc1.bias', f32([1024])],
        ['fc2.weight', f32([3, 1024])],
        ['fc2.bias', f32([3])],
      ]),
    );
    const run = await runMal(['inspect', path]);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.split('\n');
    const rows = lines.slice(lines.indexOf('tensors:') + 1, lines.indexOf('spaces:') - 1);
    expect(rows).toHaveLength(4);
    // Every row's shape starts in the same column, and so does its axes list.
    const shapeColumns = rows.map((row) => row.indexOf('['));
    const axesColumns = rows.map((row) => row.lastIndexOf('['));
    expect(new Set(shapeColumns).size, rows.join('\n')).toBe(1);
    expect(new Set(axesColumns).size, rows.join('\n')).toBe(1);
    // Columns stay apart by two spaces at least, even after the longest dtype.
    for (const row of rows) expect(row).toMatch(/^ {2}\S+ {2,}\S+ {2,}\[[^\]]*\] {2,}\[/);
  });
});
