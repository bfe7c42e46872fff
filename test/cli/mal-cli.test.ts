import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SafetensorsReader } from '../../src/io/safetensors-reader.js';
import { writeSafetensorsTensors } from '../../src/io/safetensors-writer.js';
import { SeededRandom } from '../../src/random/seeded-random.js';
import { fromFloat32, toFloat32 } from '../../src/tensor/float-conversion.js';
import type { FloatTensor } from '../../src/tensor/tensor.js';
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

async function load(path: string): Promise<Map<string, Float32Array>> {
  const reader = await SafetensorsReader.open(path);
  try {
    const out = new Map<string, Float32Array>();
    for (const name of reader.tensorNames()) out.set(name, toFloat32(await reader.read(name)));
    return out;
  } finally {
    await reader.close();
  }
}

const mal = (...args: string[]) => runMal(args);

let dir: string;
const base = makeMlp({ widths: [20, 24, 12, 5], naming: 'fc', seed: 3 });
const spec = specOf(base.tensors, base.config);
const perms = randomFreePermutations(spec, base.tensors, new SeededRandom(9));
const shuffled = transformModel(spec, base.tensors, perms);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mal-cli-'));
  await save(join(dir, 'base.safetensors'), base.tensors);
  await save(join(dir, 'shuffled.safetensors'), shuffled);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('mal', () => {
  it('lists its commands and has -h and --help on each', async () => {
    const top = await mal('--help');
    expect(top.code).toBe(0);
    // Every command the top-level help lists (two-word ones like `zoo train` included).
    const section = top.stdout.slice(top.stdout.indexOf('Commands:'), top.stdout.indexOf('Options:'));
    const listed = section
      .split('\n')
      .map((line) => /^ {2}(\S+(?: [a-z-]+)?)\s{2,}/.exec(line)?.[1])
      .filter((c): c is string => c !== undefined);
    expect(listed).toEqual(
      expect.arrayContaining([
        'inspect',
        'align',
        'merge',
        'eval',
        'lmc',
        'assemble',
        'zoo train',
        'zoo ls',
        'data split',
        'worker',
        'submit',
        'schedule nightly',
      ]),
    );
    for (const command of listed) {
      for (const flag of ['--help', '-h']) {
        const help = await mal(...command.split(' '), flag);
        expect(help.code, `${command} ${flag}`).toBe(0);
        expect(help.stdout).toContain(`Usage: mal ${command}`);
        expect(help.stdout).toContain('-h, --help');
        expect(help.stderr).toBe('');
      }
    }
    expect((await mal('-h')).stdout).toBe(top.stdout);
    expect((await mal('help', 'zoo', 'train')).stdout).toContain('Usage: mal zoo train');
  });

  it('rejects an unknown command and a missing option with exit code 2', async () => {
    expect((await mal('frobnicate')).code).toBe(2);
    const noLambda = await mal(
      'merge',
      join(dir, 'base.safetensors'),
      join(dir, 'shuffled.safetensors'),
      '--out',
      join(dir, 'x.safetensors'),
    );
    expect(noLambda.code).toBe(2);
    expect(noLambda.stderr).toContain('--lambda');
    const badLambda = await mal('merge', 'a', 'b', '--out', 'c', '--lambda', '1.5');
    expect(badLambda.code).toBe(2);
  });

  it('inspects a model: tensors, spec and widths', async () => {
    const run = await mal('inspect', join(dir, 'base.safetensors'), '--json');
    expect(run.code).toBe(0);
    const doc = JSON.parse(run.stdout);
    expect(doc.spec.family).toBe('mlp');
    expect(doc.widths).toEqual({ input: 20, fc1: 24, fc2: 12, output: 5 });
    const text = await mal('inspect', join(dir, 'base.safetensors'));
    expect(text.stdout).toContain('fc1.weight');
    expect(text.stdout).toMatch(/fc1\s+free\s+width 24/);
  });

  it('aligns a shuffled copy: maps.json holds the inverse shuffle and aligned.safetensors equals the base', async () => {
    const out = join(dir, 'align');
    const run = await mal(
      'align',
      join(dir, 'base.safetensors'),
      join(dir, 'shuffled.safetensors'),
      '--out',
      out,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/objective \S+ → \S+ \(higher is better\) in \d+ sweep/);
    const maps = JSON.parse(await readFile(join(out, 'maps.json'), 'utf8'));
    for (const [space, perm] of perms) {
      expect(maps.spaces[space].map).toEqual(Array.from(inversePermutation(perm)));
      expect(maps.spaces[space].baseWidth).toBe(perm.length);
    }
    expect(maps.spaces.input.kind).toBe('fixed');
    expect(maps.iterations.length).toBeGreaterThan(0);
    const aligned = await load(join(out, 'aligned.safetensors'));
    for (const [name, t] of base.tensors)
      expect(Array.from(aligned.get(name)!), name).toEqual(Array.from(t.data));
  });

  it('merges with maps: a shuffled copy merged at any λ gives back the base', async () => {
    const out = join(dir, 'merged.safetensors');
    const run = await mal(
      'merge',
      join(dir, 'base.safetensors'),
      join(dir, 'shuffled.safetensors'),
      '--lambda',
      '0.4',
      '--maps',
      join(dir, 'align', 'maps.json'),
      '--out',
      out,
      '--json',
    );
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).merged).toBe(6);
    const merged = await load(out);
    for (const [name, t] of base.tensors) {
      const m = merged.get(name)!;
      for (let i = 0; i < m.length; i++) expect(m[i]).toBeCloseTo(t.data[i], 5);
    }
  });

  it('merges without maps by aligning first; a naive merge would differ', async () => {
    const out = join(dir, 'merged-align.safetensors');
    const run = await mal(
      'merge',
      join(dir, 'base.safetensors'),
      join(dir, 'shuffled.safetensors'),
      '--lambda',
      '0.5',
      '--out',
      out,
    );
    expect(run.code, run.stderr).toBe(0);
    const merged = await load(out);
    const w = merged.get('fc1.weight')!;
    const b = base.tensors.get('fc1.weight')!.data;
    let maxDiff = 0;
    for (let i = 0; i < w.length; i++) maxDiff = Math.max(maxDiff, Math.abs(w[i] - b[i]));
    expect(maxDiff).toBeLessThan(1e-5);
    const naive = shuffled.get('fc1.weight')!.data;
    let naiveDiff = 0;
    for (let i = 0; i < naive.length; i++) naiveDiff = Math.max(naiveDiff, Math.abs(naive[i] - b[i]));
    expect(naiveDiff).toBeGreaterThan(0.1);
  });

  it('merges by task arithmetic after alignment: ancestor + τ_base + λ·τ_target, with the target shuffled', async () => {
    // ancestor O; base = O + τa; target = shuffle(O + τb). Alignment undoes the shuffle, so the result is O + τa + λ·τb.
    const random = new SeededRandom(21);
    const ancestor = makeMlp({ widths: [20, 24, 12, 5], naming: 'fc', seed: 30 }).tensors;
    const tauA = new Map([...ancestor].map(([n, t]) => [n, random.normalArray(t.data.length, 0.01)]));
    const tauB = new Map([...ancestor].map(([n, t]) => [n, random.normalArray(t.data.length, 0.01)]));
    const plus = (tau: Map<string, Float32Array>) =>
      new Map(
        [...ancestor].map(([n, t]) => [
          n,
          { shape: t.shape, data: t.data.map((v, i) => v + tau.get(n)![i]) },
        ]),
      );
    const a = plus(tauA);
    const b = transformModel(spec, plus(tauB), perms);
    await save(join(dir, 'ta-ancestor.safetensors'), ancestor);
    await save(join(dir, 'ta-a.safetensors'), a);
    await save(join(dir, 'ta-b.safetensors'), b);
    const out = join(dir, 'ta-merged.safetensors');
    const run = await mal(
      'merge',
      join(dir, 'ta-a.safetensors'),
      join(dir, 'ta-b.safetensors'),
      '--method',
      'task-arithmetic',
      '--ancestor',
      join(dir, 'ta-ancestor.safetensors'),
      '--lambda',
      '0.5',
      '--out',
      out,
    );
    expect(run.code, run.stderr).toBe(0);
    const merged = await load(out);
    for (const [name, t] of ancestor) {
      const m = merged.get(name)!;
      for (let i = 0; i < m.length; i++) {
        expect(m[i]).toBeCloseTo(t.data[i] + tauA.get(name)![i] + 0.5 * tauB.get(name)![i], 5);
      }
    }
    const noAncestor = await mal(
      'merge',
      join(dir, 'ta-a.safetensors'),
      join(dir, 'ta-b.safetensors'),
      '--method',
      'ties',
      '--lambda',
      '0.5',
      '--out',
      join(dir, 'x.safetensors'),
    );
    expect(noAncestor.code).toBe(2);
    expect(noAncestor.stderr).toContain('--ancestor');
  });

  it('refuses homogeneous methods across widths', async () => {
    const wide = makeMlp({ widths: [20, 30, 12, 5], naming: 'fc', seed: 4 });
    await save(join(dir, 'wide.safetensors'), wide.tensors);
    const run = await mal(
      'merge',
      join(dir, 'base.safetensors'),
      join(dir, 'wide.safetensors'),
      '--method',
      'slerp',
      '--lambda',
      '0.5',
      '--out',
      join(dir, 'slerp.safetensors'),
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('equal widths');
    expect(existsSync(join(dir, 'slerp.safetensors'))).toBe(false);
  });

  it('refuses a method parameter the chosen method does not take, and an ancestor it does not read', async () => {
    const args = ['merge', join(dir, 'base.safetensors'), join(dir, 'base.safetensors'), '--lambda', '0.5'];
    const density = await mal(...args, '--out', join(dir, 'p.safetensors'), '--density', '0.3');
    expect(density.code).toBe(2);
    expect(density.stderr).toContain("--density is a parameter of method 'ties', not of 'mal'");
    const ancestor = await mal(
      ...args,
      '--out',
      join(dir, 'p.safetensors'),
      '--ancestor',
      join(dir, 'base.safetensors'),
    );
    expect(ancestor.code).toBe(2);
    expect(ancestor.stderr).toContain('--method mal reads no ancestor');
    const drop = await mal(
      ...args,
      '--out',
      join(dir, 'p.safetensors'),
      '--method',
      'dare-ties',
      '--ancestor',
      join(dir, 'base.safetensors'),
      '--drop-probability',
      '1',
    );
    expect(drop.code).toBe(2);
    expect(drop.stderr).toMatch(/dropProbability.* must be in \[0, 1\), got 1/);
    expect(existsSync(join(dir, 'p.safetensors'))).toBe(false);
  });

  it('lists every merge method with its parameters in merge --help', async () => {
    const help = await mal('merge', '--help');
    expect(help.code).toBe(0);
    for (const method of ['mal', 'slerp', 'task-arithmetic', 'ties', 'dare-linear', 'dare-ties'])
      expect(help.stdout).toMatch(new RegExp(`^${method} .*\\[`, 'm'));
    expect(help.stdout).toContain('--drop-probability <x>');
    expect(help.stdout).toContain('--density <x>');
  });

  it('refuses maps made for other models', async () => {
    const other = makeMlp({ widths: [20, 30, 12, 5], naming: 'fc', seed: 4 });
    await save(join(dir, 'other.safetensors'), other.tensors);
    const run = await mal(
      'merge',
      join(dir, 'base.safetensors'),
      join(dir, 'other.safetensors'),
      '--lambda',
      '0.5',
      '--maps',
      join(dir, 'align', 'maps.json'),
      '--out',
      join(dir, 'never.safetensors'),
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("space 'fc1'");
    expect(existsSync(join(dir, 'never.safetensors'))).toBe(false);
  });

  it('refuses to merge non-finite weights, naming the tensor, and writes nothing', async () => {
    const poisoned = new Map(shuffled);
    const w = shuffled.get('fc2.weight')!;
    const data = Float32Array.from(w.data);
    data[7] = Number.NaN;
    poisoned.set('fc2.weight', { shape: w.shape, data });
    await save(join(dir, 'poisoned.safetensors'), poisoned);
    const before = await readdir(dir);
    const run = await mal(
      'merge',
      join(dir, 'base.safetensors'),
      join(dir, 'poisoned.safetensors'),
      '--lambda',
      '0.5',
      '--maps',
      join(dir, 'align', 'maps.json'),
      '--out',
      join(dir, 'poisoned-merge.safetensors'),
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("'fc2.weight'");
    expect(run.stderr).toContain('NaN');
    expect(await readdir(dir)).toEqual(before);
  });

  it('reads a hand-written YAML spec for a layout it cannot derive', async () => {
    const random = new SeededRandom(12);
    const custom = new Map<string, FloatTensor>([
      ['encoder.proj.w', { shape: [16, 8], data: random.normalArray(128) }],
      ['encoder.proj.b', { shape: [16], data: random.normalArray(16) }],
      ['head.w', { shape: [3, 16], data: random.normalArray(48) }],
    ]);
    const hiddenPerm = random.permutation(16);
    const permuted = new Map(custom);
    const w = custom.get('encoder.proj.w')!.data;
    const b = custom.get('encoder.proj.b')!.data;
    const h = custom.get('head.w')!.data;
    const pw = new Float32Array(128);
    const pb = new Float32Array(16);
    const ph = new Float32Array(48);
    for (let i = 0; i < 16; i++) {
      // permuted unit i is original unit hiddenPerm[i]
      pb[i] = b[hiddenPerm[i]];
      for (let c = 0; c < 8; c++) pw[i * 8 + c] = w[hiddenPerm[i] * 8 + c];
      for (let r = 0; r < 3; r++) ph[r * 16 + i] = h[r * 16 + hiddenPerm[i]];
    }
    permuted.set('encoder.proj.w', { shape: [16, 8], data: pw });
    permuted.set('encoder.proj.b', { shape: [16], data: pb });
    permuted.set('head.w', { shape: [3, 16], data: ph });
    await save(join(dir, 'custom.safetensors'), custom);
    await save(join(dir, 'custom-permuted.safetensors'), permuted);
    const specPath = join(dir, 'custom.yaml');
    await writeFile(
      specPath,
      [
        'family: custom',
        'spaces:',
        '  - {name: features, kind: fixed}',
        '  - {name: hidden, kind: free}',
        '  - {name: classes, kind: fixed}',
        'tensors:',
        '  encoder.proj.w: [hidden, features]',
        '  encoder.proj.b: [hidden]',
        '  head.w: [classes, hidden]',
        '',
      ].join('\n'),
    );
    const underived = await mal('inspect', join(dir, 'custom.safetensors'));
    expect(underived.code).toBe(1);
    expect(underived.stderr).toContain('--spec');
    const inspected = await mal('inspect', join(dir, 'custom.safetensors'), '--spec', specPath);
    expect(inspected.code, inspected.stderr).toBe(0);
    expect(inspected.stdout).toMatch(/hidden\s+free\s+width 16/);
    const out = join(dir, 'custom-align');
    const run = await mal(
      'align',
      join(dir, 'custom.safetensors'),
      join(dir, 'custom-permuted.safetensors'),
      '--base-spec',
      specPath,
      '--target-spec',
      specPath,
      '--out',
      out,
    );
    expect(run.code, run.stderr).toBe(0);
    const maps = JSON.parse(await readFile(join(out, 'maps.json'), 'utf8'));
    expect(maps.spaces.hidden.map).toEqual(Array.from(inversePermutation(hiddenPerm)));
    const badSpec = join(dir, 'bad.yaml');
    await writeFile(
      badSpec,
      'spaces:\n  - {name: hidden, kind: free}\ntensors:\n  encoder.proj.w: [hidden, nowhere]\n',
    );
    const bad = await mal('inspect', join(dir, 'custom.safetensors'), '--spec', badSpec);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/bad\.yaml:4.*nowhere/);
  });

  it('reports a truncated model file by name', async () => {
    const bytes = await readFile(join(dir, 'base.safetensors'));
    await writeFile(join(dir, 'truncated.safetensors'), bytes.subarray(0, bytes.length - 100));
    const run = await mal('inspect', join(dir, 'truncated.safetensors'));
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('truncated.safetensors');
    expect(run.stderr).not.toContain('    at ');
  });
});
