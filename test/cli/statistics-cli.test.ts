import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SafetensorsReader } from '../../src/io/safetensors-reader.js';
import { writeSafetensorsTensors } from '../../src/io/safetensors-writer.js';
import { SeededRandom } from '../../src/random/seeded-random.js';
import { fromFloat32, toFloat32 } from '../../src/tensor/float-conversion.js';
import type { FloatTensor } from '../../src/tensor/tensor.js';
import { requireFashionMnist } from '../data/fashion-mnist-required.js';
import { makeMlp } from '../support/model-factory.js';
import { runMal } from '../support/run-mal.js';
import {
  inversePermutation,
  randomFreePermutations,
  specOf,
  transformModel,
} from '../support/transform-model.js';

async function save(path: string, tensors: Map<string, FloatTensor>): Promise<void> {
  await writeSafetensorsTensors(
    path,
    new Map([...tensors].map(([name, t]) => [name, fromFloat32(t.data, 'F32', t.shape)])),
  );
}

const mal = (...args: string[]) => runMal(args);

let dir: string;
const base = makeMlp({ widths: [784, 24, 12, 10], naming: 'fc', seed: 3 });
const spec = specOf(base.tensors, base.config);
const perms = randomFreePermutations(spec, base.tensors, new SeededRandom(9));

beforeAll(async () => {
  requireFashionMnist();
  dir = await mkdtemp(join(tmpdir(), 'mal-statistics-cli-'));
  await save(join(dir, 'base.safetensors'), base.tensors);
  await save(join(dir, 'shuffled.safetensors'), transformModel(spec, base.tensors, perms));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Every tensor of the merged model at `out` is the base's, to float32 rounding. */
async function expectTheBase(out: string): Promise<void> {
  const reader = await SafetensorsReader.open(out);
  try {
    for (const [name, tensor] of base.tensors) {
      const merged = toFloat32(await reader.read(name));
      const worst = merged.reduce((m, v, i) => Math.max(m, Math.abs(v - tensor.data[i])), 0);
      expect(worst, name).toBeLessThan(1e-4);
    }
  } finally {
    await reader.close();
  }
}

describe('mal align / merge with activation statistics', () => {
  it('align --match activations recovers the permutation from activations on the data', async () => {
    const out = join(dir, 'aligned');
    const run = await mal(
      'align',
      join(dir, 'base.safetensors'),
      join(dir, 'shuffled.safetensors'),
      '--out',
      out,
      '--match',
      'activations',
      '--data',
      'fashion-mnist:test',
      '--examples',
      '300',
      '--backend',
      'cpu',
    );
    expect(run.code).toBe(0);
    const doc = JSON.parse(await readFile(join(out, 'maps.json'), 'utf8'));
    expect(doc.options).toMatchObject({ match: 'activations', examples: 300 });
    for (const [space, perm] of perms) expect(doc.spaces[space].map).toEqual([...inversePermutation(perm)]);
  });

  it('merge --match activations --repair of a model and its shuffled copy gives the model back', async () => {
    const out = join(dir, 'merged.safetensors');
    const run = await mal(
      'merge',
      join(dir, 'base.safetensors'),
      join(dir, 'shuffled.safetensors'),
      '--lambda',
      '0.5',
      '--match',
      'activations',
      '--repair',
      '--data',
      'fashion-mnist:test',
      '--examples',
      '300',
      '--backend',
      'cpu',
      '--out',
      out,
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/REPAIRed on 300 examples/);
    await expectTheBase(out);
  });

  it('merge --regmean of a model and its shuffled copy gives the model back; other methods are refused', async () => {
    const out = join(dir, 'regmean.safetensors');
    const run = await mal(
      'merge',
      join(dir, 'base.safetensors'),
      join(dir, 'shuffled.safetensors'),
      '--lambda',
      '0.3',
      '--regmean',
      '--data',
      'fashion-mnist:test',
      '--examples',
      '300',
      '--backend',
      'cpu',
      '--json',
      '--out',
      out,
    );
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ regmean: true, method: 'mal' });
    await expectTheBase(out);
    const refused = join(dir, 'regmean-slerp.safetensors');
    const slerp = await mal(
      'merge',
      join(dir, 'base.safetensors'),
      join(dir, 'shuffled.safetensors'),
      '--lambda',
      '0.3',
      '--method',
      'slerp',
      '--regmean',
      '--data',
      'fashion-mnist:test',
      '--out',
      refused,
    );
    expect(slerp.code).toBe(2);
    // A CNN base is refused before anything is aligned, even at λ = 1 where RegMean would change nothing.
    const cnn = join(
      import.meta.dirname,
      '..',
      '..',
      'zoo',
      'demo',
      'models',
      'cnn-h8x16-d32-s1-fmnist-n12000.safetensors',
    );
    const cnnOut = join(dir, 'regmean-cnn.safetensors');
    const onCnn = await mal(
      'merge',
      cnn,
      cnn,
      '--lambda',
      '1',
      '--regmean',
      '--data',
      'fashion-mnist:test',
      '--out',
      cnnOut,
    );
    expect(onCnn.code).toBe(2);
    expect(onCnn.stderr).toMatch(/--regmean solves dense layers of MLP models only, and .* is a 'cnn' model/);
    expect(existsSync(cnnOut)).toBe(false);
    expect(slerp.stderr).toMatch(
      /--regmean re-solves MAL's interpolation, so it needs --method mal, not slerp/,
    );
    expect(existsSync(refused)).toBe(false);
  });

  it('refuses --match activations and --repair without --data, writing nothing', async () => {
    const out = join(dir, 'refused.safetensors');
    const run = await mal(
      'merge',
      join(dir, 'base.safetensors'),
      join(dir, 'shuffled.safetensors'),
      '--lambda',
      '0.5',
      '--repair',
      '--out',
      out,
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--repair, --regmean or --match activations needs --data <source>/);
    expect(existsSync(out)).toBe(false);
    const align = await mal('align', 'a', 'b', '--out', join(dir, 'x'), '--match', 'activations');
    expect(align.code).toBe(2);
    expect(align.stderr).toMatch(/--match activations needs --data/);
  });
});
