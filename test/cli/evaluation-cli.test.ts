import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mal, root } from '../support/mal-cli.js';

const zoo = join(root, 'zoo', 'demo', 'models');
const seed1 = join(zoo, 'mlp-h256x256-s1-fmnist.safetensors');
const seed2 = join(zoo, 'mlp-h256x256-s2-fmnist.safetensors');

let dir: string;
beforeAll(async () => {
  if (!existsSync(join(root, 'dist', 'src', 'cli', 'main.js'))) throw new Error('run `npm run build` first');
  dir = await mkdtemp(join(tmpdir(), 'mal-eval-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('mal eval', () => {
  it('reports loss and accuracy of a zoo model, close to what the zoo recorded on the full test set', async () => {
    const run = await mal('eval', seed1, '--data', 'fashion-mnist:val', '--json');
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result.count).toBe(2000);
    expect(result.accuracy).toBeGreaterThan(0.8);
    expect(result.loss).toBeGreaterThan(0.1);
    expect(result.loss).toBeLessThan(0.6);
    expect(['wasm', 'cpu', 'webgpu', 'tfjs-node', 'tfjs-node-gpu']).toContain(result.backend);
  });

  it('says where it looked when the data is missing', async () => {
    const run = await mal('eval', seed1, '--data', 'fashion-mnist:test', '--data-dir', join(dir, 'nowhere'));
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(join(dir, 'nowhere'));
  });
});

describe('mal lmc reproduces Git Re-Basin on the demo zoo', () => {
  it('has a large naive barrier and almost none after alignment', async () => {
    const naive = await mal(
      'lmc',
      seed1,
      seed2,
      '--data',
      'fashion-mnist:val',
      '--naive',
      '--json',
      '--plot',
      join(dir, 'naive.svg'),
    );
    const aligned = await mal(
      'lmc',
      seed1,
      seed2,
      '--data',
      'fashion-mnist:val',
      '--json',
      '--plot',
      join(dir, 'aligned.svg'),
    );
    expect(naive.code, naive.stderr).toBe(0);
    expect(aligned.code, aligned.stderr).toBe(0);
    const n = JSON.parse(naive.stdout);
    const a = JSON.parse(aligned.stdout);
    expect(n.points).toHaveLength(11);
    expect(n.points[0].loss).toBeCloseTo(a.points[0].loss, 5); // λ = 0 is the base either way
    expect(n.points[10].loss).toBeCloseTo(a.points[10].loss, 5); // λ = 1 is the (permuted) target: same function
    expect(n.summary.barrier).toBeGreaterThan(0.3);
    expect(a.summary.barrier).toBeLessThan(0.05);
    expect(a.summary.meanLoss).toBeLessThan(n.summary.meanLoss);
    expect(a.alignment.objective).toBeGreaterThan(a.alignment.initialObjective);
    const svg = await readFile(join(dir, 'aligned.svg'), 'utf8');
    expect(svg).toContain('<svg');
    expect(svg).toContain('class="panel-loss"');
  });

  it('transplants only the listed layers with --layers', async () => {
    const run = await mal(
      'lmc',
      seed1,
      seed2,
      '--data',
      'fashion-mnist:val',
      '--layers',
      'layers.0',
      '--grid',
      '0,0.5,1',
      '--json',
      '--plot',
      join(dir, 'l0.svg'),
    );
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result.transplanted).toEqual(['layers.0.weight', 'layers.0.bias']);
    expect(result.points.map((p: { lambda: number }) => p.lambda)).toEqual([0, 0.5, 1]);
  });
});
