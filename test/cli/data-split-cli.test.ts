/**
 * `mal data split` end to end on the real Fashion-MNIST test file (10 000 images, so it stays fast). The files it
 * writes are checked against the raw IDX bytes read here without the code under test: every source example lands
 * in exactly one output file, with its label, and the per-class counts follow the rule worked out by hand.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDataset } from '../../src/data/load-dataset.js';
import {
  gunzipFile,
  requireFashionMnist,
  TEST_IMAGES_GZ,
  TEST_LABELS_GZ,
} from '../data/fashion-mnist-required.js';
import { runMal } from '../support/run-mal.js';

const FILES = ['holdout.arrow', 'part-1.arrow', 'part-2.arrow', 'split.json'];

/** `label:sha1(pixels)` of every example, sorted: the multiset of examples, independent of order. */
function rawExamples(): string[] {
  const images = gunzipFile(TEST_IMAGES_GZ).subarray(16);
  const labels = gunzipFile(TEST_LABELS_GZ).subarray(8);
  const keys: string[] = [];
  for (let i = 0; i < labels.length; i++) {
    const pixels = images.subarray(i * 784, (i + 1) * 784);
    keys.push(`${labels[i]}:${createHash('sha1').update(pixels).digest('hex')}`);
  }
  return keys.sort();
}

/** The same keys from a written file, its float pixels turned back into bytes. */
async function writtenExamples(path: string): Promise<{ keys: string[]; perClass: number[] }> {
  const dataset = await loadDataset(path, { layout: 'flat' });
  const keys: string[] = [];
  const perClass = new Array<number>(10).fill(0);
  const bytes = new Uint8Array(784);
  for (let i = 0; i < dataset.count; i++) {
    for (let p = 0; p < 784; p++) bytes[p] = Math.round(dataset.features[i * 784 + p] * 255);
    keys.push(`${dataset.labels[i]}:${createHash('sha1').update(bytes).digest('hex')}`);
    perClass[dataset.labels[i]]++;
  }
  return { keys, perClass };
}

let dir: string;
beforeAll(async () => {
  requireFashionMnist();
  dir = await mkdtemp(join(tmpdir(), 'mal-data-split-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('mal data split', () => {
  it('writes a stratified hold-out and two class-biased parts that together hold every example once', async () => {
    const out = join(dir, 'two-way');
    const run = await runMal([
      'data',
      'split',
      'fashion-mnist:test',
      '--out',
      out,
      '--seed',
      '3',
      '--holdout',
      '500',
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/part-1\.arrow +4750 +0-4 +760 760 760 760 760 190 190 190 190 190/);
    expect((await readdir(out)).filter((name) => !name.startsWith('.')).sort()).toEqual(
      [...FILES, 'current'].sort(),
    );

    // 1000 per class; 50 held out each; of the 950 left, 0.8·950 = 760 to the owner and 190 to the other part.
    const holdout = await writtenExamples(join(out, 'holdout.arrow'));
    const first = await writtenExamples(join(out, 'part-1.arrow'));
    const second = await writtenExamples(join(out, 'part-2.arrow'));
    expect(holdout.perClass).toEqual(new Array(10).fill(50));
    expect(first.perClass).toEqual([760, 760, 760, 760, 760, 190, 190, 190, 190, 190]);
    expect(second.perClass).toEqual([190, 190, 190, 190, 190, 760, 760, 760, 760, 760]);
    const written = [...holdout.keys, ...first.keys, ...second.keys].sort();
    const raw = rawExamples();
    expect(written.length).toBe(raw.length);
    expect(written.every((key, i) => key === raw[i])).toBe(true);

    // The image shape survives, so CNNs train on the parts too.
    const images = await loadDataset(join(out, 'part-2.arrow'), { layout: 'image' });
    expect(images.exampleShape).toEqual([1, 28, 28]);
    expect(images.classes).toBe(10);

    const summary = JSON.parse(await readFile(join(out, 'split.json'), 'utf8'));
    expect(summary).toMatchObject({
      command: 'mal data split',
      source: 'fashion-mnist:test',
      options: { parts: 2, bias: 0.8, holdout: 500, seed: 3 },
      classes: 10,
      sourceExamples: 10000,
      holdout: { file: 'holdout.arrow', examples: 500 },
      parts: [
        { file: 'part-1.arrow', examples: 4750, ownClasses: [0, 1, 2, 3, 4], perClass: first.perClass },
        { file: 'part-2.arrow', examples: 4750, ownClasses: [5, 6, 7, 8, 9], perClass: second.perClass },
      ],
    });

    // Same options, same bytes.
    const again = join(dir, 'two-way-again');
    expect(
      (
        await runMal([
          'data',
          'split',
          'fashion-mnist:test',
          '--out',
          again,
          '--seed',
          '3',
          '--holdout',
          '500',
        ])
      ).code,
    ).toBe(0);
    for (const file of FILES) {
      // Buffer.equals: a deep toEqual over megabytes takes minutes.
      expect((await readFile(join(again, file))).equals(await readFile(join(out, file))), file).toBe(true);
    }
  });

  it('a 3-way disjoint split of an Arrow part without hold-out: 0-3, 4-6, 7-9', async () => {
    const source = join(dir, 'two-way', 'holdout.arrow');
    const out = join(dir, 'three-way');
    const run = await runMal([
      'data',
      'split',
      source,
      '--out',
      out,
      '--parts',
      '3',
      '--bias',
      '1',
      '--holdout',
      '0',
      '--seed',
      '1',
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect((await readdir(out)).filter((name) => !name.startsWith('.')).sort()).toEqual([
      'current',
      'part-1.arrow',
      'part-2.arrow',
      'part-3.arrow',
      'split.json',
    ]);
    expect((await writtenExamples(join(out, 'part-1.arrow'))).perClass).toEqual([
      50, 50, 50, 50, 0, 0, 0, 0, 0, 0,
    ]);
    expect((await writtenExamples(join(out, 'part-2.arrow'))).perClass).toEqual([
      0, 0, 0, 0, 50, 50, 50, 0, 0, 0,
    ]);
    expect((await writtenExamples(join(out, 'part-3.arrow'))).perClass).toEqual([
      0, 0, 0, 0, 0, 0, 0, 50, 50, 50,
    ]);
  });

  it('refuses a non-empty folder, more parts than classes and a missing seed, writing nothing', async () => {
    const busy = join(dir, 'busy');
    await mkdir(busy);
    await writeFile(join(busy, 'notes.txt'), 'mine');
    const refused = await runMal(['data', 'split', 'fashion-mnist:test', '--out', busy, '--seed', '1']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`${busy}: is not empty (holds notes.txt)`);
    expect(await readdir(busy)).toEqual(['notes.txt']);

    const tooMany = join(dir, 'too-many');
    const parts = await runMal([
      'data',
      'split',
      'fashion-mnist:test',
      '--out',
      tooMany,
      '--seed',
      '1',
      '--parts',
      '11',
    ]);
    expect(parts.code).toBe(1);
    expect(parts.stderr).toMatch(
      /number of parts must be an integer from 2 to the number of classes \(10\), got 11/,
    );
    expect(await readdir(tooMany).catch(() => [])).toEqual([]);

    const noSeed = await runMal(['data', 'split', 'fashion-mnist:test', '--out', join(dir, 'no-seed')]);
    expect(noSeed.code).toBe(2);
    expect(noSeed.stderr).toMatch(/--seed is required/);
  });
});
