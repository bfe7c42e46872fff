/**
 * `mal calibrate` on a real small model (the demo zoo's weak base) and Fashion-MNIST validation data: the written
 * model, evaluated by `mal eval`, scores what the command printed after calibration; bad input writes nothing.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireFashionMnist } from '../data/fashion-mnist-required.js';
import { root } from '../support/mal-cli.js';
import { runMal } from '../support/run-mal.js';

const mal = (...args: string[]) => runMal(args);
const weakBase = join(root, 'zoo', 'demo', 'models', 'base-mlp-h128x128-fmnist-weak.safetensors');

let dir: string;
beforeAll(async () => {
  requireFashionMnist();
  dir = await mkdtemp(join(tmpdir(), 'mal-calibrate-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The safetensors metadata, read from the header bytes directly. */
async function metadataOf(path: string): Promise<Record<string, string>> {
  const bytes = await readFile(path);
  const length = Number(bytes.readBigUInt64LE(0));
  return JSON.parse(bytes.subarray(8, 8 + length).toString('utf8')).__metadata__;
}

describe('mal calibrate', () => {
  it('fits temperature and biases, lowers the loss, and writes a model that evaluates to the printed numbers', async () => {
    const out = join(dir, 'calibrated.safetensors');
    const run = await mal(
      'calibrate',
      weakBase,
      '--data',
      'fashion-mnist:val',
      '--limit',
      '1000',
      '--kind',
      'temperature-biases',
      '--out',
      out,
      '--json',
    );
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result.count).toBe(1000);
    expect(result.biases).toHaveLength(10);
    expect(result.after.loss).toBeLessThan(result.before.loss);
    const raw = JSON.parse(
      (await mal('eval', weakBase, '--data', 'fashion-mnist:val', '--limit', '1000', '--json')).stdout,
    );
    expect(result.before.loss).toBeCloseTo(raw.loss, 4);
    const calibrated = await mal('eval', out, '--data', 'fashion-mnist:val', '--limit', '1000', '--json');
    expect(calibrated.code, calibrated.stderr).toBe(0);
    const evaluated = JSON.parse(calibrated.stdout);
    expect(evaluated.loss).toBeCloseTo(result.after.loss, 4);
    expect(evaluated.accuracy).toBeCloseTo(result.after.accuracy, 3);
    const metadata = await metadataOf(out);
    expect(metadata['mal.kind']).toBe('calibrated');
    expect(metadata['mal.calibration.kind']).toBe('temperature-biases');
    expect(metadata['mal.calibration.data']).toBe('fashion-mnist:val');
    expect(Number(metadata['mal.calibration.temperature'])).toBeCloseTo(result.temperature, 10);
  });

  it('prints before and after in words', async () => {
    const run = await mal(
      'calibrate',
      weakBase,
      '--data',
      'fashion-mnist:val',
      '--limit',
      '300',
      '--out',
      join(dir, 'b.safetensors'),
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/loss +\d\.\d{4} → \d\.\d{4} \(lower is better\)/);
    expect(run.stdout).toMatch(/accuracy +\d+\.\d\d% → \d+\.\d\d% \(higher is better\)/);
  });

  it("refuses data that lacks some of the model's classes, writing nothing", async () => {
    // The first 3 examples of the validation set hold at most 3 of the 10 classes.
    const out = join(dir, 'few-classes.safetensors');
    const run = await mal('calibrate', weakBase, '--data', 'fashion-mnist:val', '--limit', '3', '--out', out);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(
      /has no example of classes .* of the model's 10; .* calibrate on data holding every class/,
    );
    expect(existsSync(out)).toBe(false);
  });

  it('refuses to replace its own input and an unknown kind, writing nothing', async () => {
    const copy = join(dir, 'model.safetensors');
    await copyFile(weakBase, copy);
    const before = await readFile(copy);
    const self = await mal('calibrate', copy, '--data', 'fashion-mnist:val', '--out', copy);
    expect(self.code).not.toBe(0);
    expect(self.stderr).toMatch(/model/);
    expect((await readFile(copy)).equals(before)).toBe(true);
    const kind = await mal(
      'calibrate',
      copy,
      '--data',
      'fashion-mnist:val',
      '--kind',
      'platt',
      '--out',
      join(dir, 'k.safetensors'),
    );
    expect(kind.code).toBe(2);
    expect(existsSync(join(dir, 'k.safetensors'))).toBe(false);
  });
});
