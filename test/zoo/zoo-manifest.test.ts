import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readableJson } from '../../src/zoo/readable-json.js';
import { ZooManifestError } from '../../src/zoo/zoo-errors.js';
import {
  parseZooManifest,
  readZooManifest,
  writeZooManifest,
  type ZooManifest,
} from '../../src/zoo/zoo-manifest.js';
import { scratch } from './zoo-fixtures.js';

const HASH = 'a'.repeat(64);

const manifest: ZooManifest = {
  version: 1,
  models: [
    {
      id: 'mlp-h64-s1-fmnist',
      path: 'models/mlp-h64-s1-fmnist.safetensors',
      sha256: HASH,
      dataset: 'fashion-mnist:train',
      classes: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
      seed: 1,
      metrics: { 'fashion-mnist:test': { loss: 0.41, accuracy: 0.85, examples: 10000 } },
      provenance: {
        kind: 'trained',
        command: 'mal zoo train',
        options: { arch: 'mlp', hidden: [64], epochs: 2 },
        at: '2025-01-01T00:00:00.000Z',
        seconds: 12.5,
        backend: 'cpu',
      },
      readable: true,
      family: 'mlp',
      widths: { input: 784, 'layers.0': 64, output: 10 },
    },
    {
      id: 'odd',
      path: '../elsewhere/odd.safetensors',
      sha256: 'b'.repeat(64),
      metrics: {},
      provenance: { kind: 'added', from: '/tmp/odd.safetensors', at: '2025-01-02T00:00:00.000Z', link: true },
      readable: false,
      reason: "cannot tell the architecture family: tensor 'blob.weight' has shape [2, 3, 4]",
    },
  ],
};

/** A deep copy with one change, for the validation cases. */
function edited(edit: (m: { version: unknown; models: Record<string, unknown>[] }) => void): unknown {
  const copy = JSON.parse(JSON.stringify(manifest));
  edit(copy);
  return copy;
}

function errorOf(json: unknown): ZooManifestError {
  try {
    parseZooManifest(json, 'zoo.json');
  } catch (error) {
    if (error instanceof ZooManifestError) return error;
    throw error;
  }
  throw new Error('expected a ZooManifestError');
}

describe('zoo manifest', () => {
  let dir: { path: string; remove: () => Promise<void> };
  beforeEach(async () => {
    dir = await scratch();
  });
  afterEach(async () => {
    await dir.remove();
  });

  it('round-trips through the file unchanged', async () => {
    await writeZooManifest(dir.path, manifest);
    expect(await readZooManifest(dir.path)).toEqual(manifest);
    const text = await readFile(join(dir.path, 'zoo.json'), 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    expect(JSON.parse(text)).toEqual(manifest);
  });

  it('leaves no temporary file behind', async () => {
    await writeZooManifest(dir.path, manifest);
    const { readdir } = await import('node:fs/promises');
    expect(await readdir(dir.path)).toEqual(['zoo.json']);
  });

  it('refuses to write an invalid manifest, keeping the old file', async () => {
    await writeZooManifest(dir.path, manifest);
    const bad = edited((m) => {
      m.models[0].sha256 = 'nope';
    }) as ZooManifest;
    await expect(writeZooManifest(dir.path, bad)).rejects.toThrow(/models\[0\]\.sha256/);
    expect(await readZooManifest(dir.path)).toEqual(manifest);
  });

  it('names the missing file and the bad JSON', async () => {
    await expect(readZooManifest(dir.path)).rejects.toThrow(/zoo\.json: no such file/);
    await writeFile(join(dir.path, 'zoo.json'), '{ "version": 1,');
    await expect(readZooManifest(dir.path)).rejects.toThrow(/zoo\.json: not valid JSON/);
  });

  const cases: [string, (m: { version: unknown; models: Record<string, unknown>[] }) => void, RegExp][] = [
    ['version', (m) => (m.version = 2), /^zoo\.json: version: this program reads version 1/],
    ['models', (m) => ((m as Record<string, unknown>).models = {}), /^zoo\.json: models: must be an array/],
    ['id', (m) => (m.models[0].id = '../x'), /models\[0\]\.id: must be letters/],
    [
      'duplicate id',
      (m) => (m.models[1].id = m.models[0].id),
      /models\[1\]\.id: 'mlp-h64-s1-fmnist' is already/,
    ],
    ['path', (m) => delete m.models[0].path, /models\[0\]\.path: must be a non-empty string, got nothing/],
    ['sha256', (m) => (m.models[1].sha256 = 'A'.repeat(64)), /models\[1\]\.sha256: must be 64 lowercase/],
    ['family', (m) => (m.models[0].family = 'rnn'), /models\[0\]\.family: must be one of mlp, cnn/],
    [
      'widths',
      (m) => ((m.models[0].widths as Record<string, unknown>).input = -1),
      /models\[0\]\.widths\.input: must be an integer ≥ 0/,
    ],
    ['readable', (m) => (m.models[0].readable = 'yes'), /models\[0\]\.readable: must be true or false/],
    ['reason', (m) => delete m.models[1].reason, /models\[1\]\.reason: must be a non-empty string/],
    ['classes', (m) => (m.models[0].classes = [0, 0]), /models\[0\]\.classes: lists a class twice/],
    ['classes[i]', (m) => (m.models[0].classes = [0, 1.5]), /models\[0\]\.classes\[1\]: must be an integer/],
    ['seed', (m) => (m.models[0].seed = -1), /models\[0\]\.seed: must be an integer ≥ 0/],
    [
      'metrics',
      (m) => (m.models[0].metrics = { 'fashion-mnist:test': { loss: 0.4, accuracy: 1.2 } }),
      /models\[0\]\.metrics\.fashion-mnist:test\.accuracy: must be in \[0, 1\]/,
    ],
    [
      'provenance.kind',
      (m) => ((m.models[0].provenance as Record<string, unknown>).kind = 'found'),
      /models\[0\]\.provenance\.kind: must be 'trained' or 'added'/,
    ],
    [
      'provenance.at',
      (m) => ((m.models[1].provenance as Record<string, unknown>).at = 'yesterday'),
      /models\[1\]\.provenance\.at: must be an ISO 8601 time/,
    ],
    ['unknown field', (m) => (m.models[0].colour = 'blue'), /models\[0\]\.colour: unknown field/],
    ['field of the other kind', (m) => (m.models[1].family = 'mlp'), /models\[1\]\.family: unknown field/],
  ];

  for (const [field, edit, message] of cases) {
    it(`names the field at fault: ${field}`, () => {
      const error = errorOf(edited(edit));
      expect(error.message).toMatch(message);
    });
  }

  it('accepts an empty zoo', () => {
    expect(parseZooManifest({ version: 1, models: [] }, 'zoo.json')).toEqual({ version: 1, models: [] });
  });
});

describe('readable JSON', () => {
  it('keeps lists of plain values on one line and parses back to the same value', () => {
    const value = { a: [1, 2, 3], b: { c: [], d: {}, e: ['x, ]y', null, true] }, f: [{ g: 1 }, [2]] };
    const text = readableJson(value);
    expect(JSON.parse(text)).toEqual(value);
    expect(text).toBe(
      [
        '{',
        '  "a": [1, 2, 3],',
        '  "b": {',
        '    "c": [],',
        '    "d": {},',
        '    "e": ["x, ]y", null, true]',
        '  },',
        '  "f": [',
        '    {',
        '      "g": 1',
        '    },',
        '    [2]',
        '  ]',
        '}',
      ].join('\n'),
    );
  });
});
