import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { root } from '../support/mal-cli.js';
import { runMal } from '../support/run-mal.js';

const mal = (...args: string[]) => runMal(args);

const zoo = join(root, 'zoo', 'demo', 'models');
const seed1 = join(zoo, 'mlp-h256x256-s1-fmnist.safetensors');
const seed2 = join(zoo, 'mlp-h256x256-s2-fmnist.safetensors');

let dir: string;
beforeAll(async () => {
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
    expect(result.directions).toEqual({ loss: 'lower', accuracy: 'higher' });
    const text = await mal('eval', seed1, '--data', 'fashion-mnist:val', '--limit', '100');
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/loss +\d\.\d{4} \(lower is better\)/);
    expect(text.stdout).toMatch(/accuracy +\d+\.\d\d% \(higher is better\)/);
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
    expect(a.plot).toBe(join(dir, 'aligned.svg'));
    expect(a.directions).toMatchObject({
      loss: 'lower',
      meanLoss: 'lower',
      barrier: 'lower',
      objective: 'higher',
    });
    const svg = await readFile(join(dir, 'aligned.svg'), 'utf8');
    expect(svg).toContain('<svg');
    expect(svg).toContain('class="panel-loss"');
    expect(svg).toContain('role="img"');
    expect(svg).toContain('<title id="lmc-plot-title">');
  });

  it('writes no plot unless asked, and says which way every score is better', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'mal-lmc-cwd-'));
    try {
      const run = await runMal(
        ['lmc', seed1, seed2, '--data', 'fashion-mnist:val', '--limit', '200', '--grid', '0,0.5,1'],
        { cwd },
      );
      expect(run.code, run.stderr).toBe(0);
      expect(await readdir(cwd)).toEqual([]);
      expect(run.stdout).not.toContain('wrote');
      expect(run.stdout).toContain('(loss (lower is better), accuracy (higher is better))');
      expect(run.stdout).toMatch(/^mean LMC loss +\d\.\d{4} \(lower is better\)$/m);
      expect(run.stdout).toMatch(/^barrier .*\(lower is better\)$/m);
      expect(run.stdout).toMatch(/^alignment +objective \S+ → \S+ \(higher is better\) in \d+ sweep/m);
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
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
    expect(result.plot).toBe(join(dir, 'l0.svg'));
  });
});
