import { describe, expect, it } from 'vitest';
import { dataShortName, defaultModelId } from '../../src/zoo/default-model-id.js';
import type { ZooEntry } from '../../src/zoo/zoo-manifest.js';
import { zooEntryLines, zooTable } from '../../src/zoo/zoo-table.js';

const trained: ZooEntry = {
  id: 'mlp-h64-s1-fmnist',
  path: 'models/mlp-h64-s1-fmnist.safetensors',
  sha256: 'c'.repeat(64),
  dataset: 'fashion-mnist:train',
  classes: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  seed: 1,
  metrics: {
    'fashion-mnist:test': { loss: 0.4321, accuracy: 0.84567, examples: 10000 },
    'mnist:test': { loss: 4.2, accuracy: 0.1, examples: 2000 },
  },
  provenance: {
    kind: 'trained',
    command: 'mal zoo train',
    options: { arch: 'mlp', hidden: [64], epochs: 2, 'batch-size': 64 },
    at: '2025-01-01T00:00:00.000Z',
    seconds: 3.25,
    backend: 'wasm (simd)',
  },
  readable: true,
  family: 'mlp',
  widths: { input: 784, 'layers.0': 64, output: 10 },
};

const unreadable: ZooEntry = {
  id: 'blob',
  path: 'models/blob.safetensors',
  sha256: 'd'.repeat(64),
  metrics: {},
  provenance: { kind: 'added', from: '/x/blob.safetensors', at: '2025-01-02T00:00:00.000Z', link: false },
  readable: false,
  reason: 'tensor has rank 3',
};

describe('zoo listing', () => {
  it('aligns columns and shows the first metric', () => {
    expect(zooTable([trained, unreadable])).toEqual([
      'ID                 FAMILY  WIDTHS     DATASET              ACCURACY  ON                  STATUS',
      'mlp-h64-s1-fmnist  mlp     784-64-10  fashion-mnist:train  0.8457    fashion-mnist:test  readable',
      'blob               ?       -          -                    -         -                   unreadable: tensor has rank 3',
    ]);
  });

  it('shows every field of one entry', () => {
    const lines = zooEntryLines(trained, '/zoo/models/mlp-h64-s1-fmnist.safetensors');
    expect(lines).toContain('widths:    input=784, layers.0=64, output=10');
    expect(lines).toContain('  fashion-mnist:test: accuracy 0.8457, loss 0.4321 on 10000 examples');
    expect(lines).toContain(
      "provenance: trained by 'mal zoo train' at 2025-01-01T00:00:00.000Z in 3.3 s (wasm (simd))",
    );
    expect(lines).toContain('  --batch-size 64');
    expect(lines).toContain('  --hidden [64]');
    const other = zooEntryLines(unreadable, '/zoo/models/blob.safetensors');
    expect(other).toContain('readable:  no');
    expect(other).toContain('reason:    tensor has rank 3');
    expect(other).toContain('metrics:   none recorded');
  });
});

describe('default model ids', () => {
  it('say architecture, widths, seed, data and any subset', () => {
    expect(defaultModelId({ architecture: 'mlp', hidden: [256], data: 'fashion-mnist:train', seed: 1 })).toBe(
      'mlp-h256-s1-fmnist',
    );
    expect(
      defaultModelId({ architecture: 'cnn', hidden: [16, 32], dense: [64], data: 'mnist:train', seed: 2 }),
    ).toBe('cnn-h16x32-d64-s2-mnist');
    expect(
      defaultModelId({
        architecture: 'mlp',
        hidden: [64, 64],
        data: 'fashion-mnist:train',
        classes: [0, 1, 2],
        limit: 2000,
        seed: 3,
      }),
    ).toBe('mlp-h64x64-s3-fmnist-c0.1.2-n2000');
    expect(dataShortName('arrow:/data/my_toy set.arrow')).toBe('mytoyset');
    expect(dataShortName('data/toy.feather')).toBe('toy');
  });
});
