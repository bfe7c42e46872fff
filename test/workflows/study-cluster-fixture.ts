import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeBands } from '../study/study-fixtures.js';

export interface TinyStudyOptions {
  /** MLP hidden widths of the zoo grid (default [8]); with depths [1, 2] and seeds [1, 2], 4 models per width. */
  readonly widths?: readonly number[];
  readonly positions?: readonly string[];
  /** Examples each λ of a cell is evaluated on (default 90). */
  readonly evalLimit?: number;
  readonly grid?: string;
}

/**
 * A study small enough for a test: a grid of tiny MLPs trained on three-class 8×8 "bands" images (Arrow files
 * in `dir`), all ordered pairs, aligned and naive, on wasm. Returns the study file's absolute path.
 */
export async function writeTinyStudy(dir: string, options: TinyStudyOptions = {}): Promise<string> {
  await writeBands(join(dir, 'train.arrow'), 300, 1);
  await writeBands(join(dir, 'eval.arrow'), Math.max(120, options.evalLimit ?? 90), 2);
  const file = join(dir, 'tiny.yaml');
  await writeFile(
    file,
    [
      'datasets:',
      '  - {name: bands, train: train.arrow, eval: eval.arrow}',
      'zoo:',
      '  folder: zoo',
      `  train: {arch: mlp, widths: [${(options.widths ?? [8]).join(', ')}], depths: [1, 2], datasets: [bands], seeds: [1, 2], epochs: 1, evalLimit: 60}`,
      `positions: [${(options.positions ?? ['first', 'last']).join(', ')}]`,
      'alignment: [aligned, naive]',
      `evaluate: {limit: ${options.evalLimit ?? 90}, batchSize: 64}`,
      `grid: ${options.grid ?? '0:0.25:1'}`,
      'backend: wasm',
      '',
    ].join('\n'),
  );
  return file;
}
