/**
 * Two models with no weight in common (different families, or one family saved under other names) used to be
 * "aligned" and "merged" with nothing paired, exit 0; lmc reported barrier 0 and λ* = 1. Every command that pairs
 * tensors must refuse such a pair with an IncompatibleModelsError naming both models and the reason, exit 1.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSafetensorsTensors } from '../../src/io/safetensors-writer.js';
import { fromFloat32 } from '../../src/tensor/float-conversion.js';
import {
  makeGpt2,
  makeLlama,
  makeMlp,
  makeResNet,
  makeVggCnn,
  type SyntheticModel,
} from '../support/model-factory.js';
import { runMal } from '../support/run-mal.js';

let dir: string;

/** A model folder: model.safetensors and its config.json, as a checkpoint is saved. */
async function save(name: string, model: SyntheticModel): Promise<string> {
  const folder = join(dir, name);
  await mkdir(folder, { recursive: true });
  await writeSafetensorsTensors(
    join(folder, 'model.safetensors'),
    new Map([...model.tensors].map(([n, t]) => [n, fromFloat32(t.data, 'F32', t.shape)])),
  );
  await writeFile(join(folder, 'config.json'), JSON.stringify(model.config));
  return folder;
}

function withoutPrefix(model: SyntheticModel, prefix: string): SyntheticModel {
  return {
    config: model.config,
    tensors: new Map(
      [...model.tensors].map(([n, t]) => [n.startsWith(prefix) ? n.slice(prefix.length) : n, t]),
    ),
  };
}

const paths: Record<string, string> = {};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mal-incompatible-'));
  const gpt2 = makeGpt2({ vocab: 32, positions: 16, dModel: 16, nHead: 2, nLayer: 2, seed: 1 });
  paths.gpt2 = await save('gpt2', gpt2);
  paths.gpt2Bare = await save('gpt2-bare', withoutPrefix(gpt2, 'transformer.'));
  paths.mlp = await save('mlp', makeMlp({ widths: [784, 32, 10], naming: 'layers', seed: 2 }));
  paths.cnn = await save(
    'cnn',
    makeVggCnn({ inChannels: 1, channels: [4, 8], imageSize: 28, classes: 10, seed: 3 }),
  );
  paths.resnet = await save(
    'resnet',
    makeResNet({
      inChannels: 1,
      stemChannels: 4,
      stages: [{ channels: 4, blocks: 1, stride: 1 }],
      classes: 10,
      imageSize: 28,
      seed: 4,
    }),
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const pairs: readonly (readonly [string, string, string, RegExp])[] = [
  ['GPT-2 and an MLP', 'gpt2', 'mlp', /different architecture families \(gpt2 and mlp\)/],
  ['a CNN and a ResNet', 'cnn', 'resnet', /different architecture families \(cnn and resnet\)/],
  [
    "GPT-2 with and without the 'transformer.' prefix",
    'gpt2',
    'gpt2Bare',
    /their tensor names differ by the prefix 'transformer\.': 10 weights would pair without it, 1 pair/,
  ],
];

describe('models with no weights in common', () => {
  it.each(pairs)('mal align refuses %s', async (_name, a, b, reason) => {
    const out = join(dir, `align-${a}-${b}`);
    const run = await runMal(['align', paths[a], paths[b], '--out', out]);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`'${paths[a]}'`);
    expect(run.stderr).toContain(`'${paths[b]}'`);
    expect(run.stderr).toMatch(reason);
    expect(run.stderr).toMatch(/--base-spec/);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(run.code).toBe(1);
    expect(existsSync(out)).toBe(false);
  });

  it.each(pairs)('mal merge refuses %s', async (_name, a, b, reason) => {
    const out = join(dir, `merge-${a}-${b}.safetensors`);
    const run = await runMal(['merge', paths[a], paths[b], '--lambda', '0.5', '--out', out]);
    expect(run.stderr).toMatch(reason);
    expect(run.code).toBe(1);
    expect(existsSync(out)).toBe(false);
  });

  it('mal align refuses LLaMAs of different head widths, saying RoPE fixes them', async () => {
    const narrow = await save(
      'llama-h4',
      makeLlama({ vocab: 32, dModel: 16, nHead: 4, nKvHead: 1, ff: 8, nLayer: 1, seed: 6 }),
    );
    const wide = await save(
      'llama-h2',
      makeLlama({ vocab: 32, dModel: 16, nHead: 2, nKvHead: 1, ff: 8, nLayer: 1, seed: 7 }),
    );
    const out = join(dir, 'llama-aligned');
    const run = await runMal(['align', narrow, wide, '--out', out]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('head_dim 4 in the base and 8 in the target');
    expect(run.stderr).toContain('RoPE');
    expect(existsSync(out)).toBe(false);
  });

  it('mal lmc refuses an MLP and a CNN instead of reporting barrier 0', async () => {
    const run = await runMal(['lmc', paths.mlp, paths.cnn, '--data', 'fashion-mnist:val', '--limit', '50']);
    expect(run.stdout).not.toMatch(/barrier/);
    expect(run.stderr).toMatch(/different architecture families \(mlp and cnn\)/);
    expect(run.code).toBe(1);
  });

  it('mal lmc refuses two MLPs whose tensors are named differently', async () => {
    const fc = await save('mlp-fc', makeMlp({ widths: [784, 32, 10], naming: 'fc', seed: 5 }));
    const run = await runMal(['lmc', paths.mlp, fc, '--data', 'fashion-mnist:val', '--limit', '50']);
    expect(run.stderr).toMatch(/no tensor names in common/);
    expect(run.code).toBe(1);
  });
});
