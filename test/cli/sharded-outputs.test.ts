/**
 * `mal align` and `mal merge` writing sharded outputs, on a synthetic LLaMA-shaped pair of sharded bf16 models:
 * the shards and the index open as a model that holds, tensor for tensor, the bytes of the one-file output of the
 * same run; every shard stays within --max-shard-size; a failing merge leaves nothing behind.
 */
import { copyFile, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openModel } from '../../src/io/open-model.js';
import { SafetensorsReader } from '../../src/io/safetensors-reader.js';
import { writeShardedSafetensors } from '../../src/io/sharded-writer.js';
import { loadModel } from '../../src/model/load-model.js';
import { byteLength } from '../../src/tensor/dtype.js';
import { toFloat32 } from '../../src/tensor/float-conversion.js';
import { elementCount } from '../../src/tensor/tensor.js';
import { type LlamaShapedPair, writeLlamaShapedPair } from '../../src/zoo/llama-shaped-pair.js';
import { runMal } from '../support/run-mal.js';

const mal = (...args: string[]) => runMal(args);
const MAX_SHARD = 40_000;

let dir: string;
let pair: LlamaShapedPair;
const at = (name: string) => join(dir, name);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mal-sharded-out-'));
  pair = await writeLlamaShapedPair(dir, {
    blocks: 3,
    hidden: 64,
    intermediate: 96,
    heads: 4,
    kvHeads: 2,
    vocab: 32,
    maxShardBytes: MAX_SHARD,
    noise: 0.01,
    seed: 1,
  });
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Every tensor's dtype, shape and bytes, by name. */
async function tensorsOf(
  path: string,
): Promise<Map<string, { dtype: string; shape: number[]; bytes: Buffer }>> {
  const source = await openModel(path);
  try {
    const out = new Map<string, { dtype: string; shape: number[]; bytes: Buffer }>();
    for (const name of source.tensorNames()) {
      const t = await source.read(name);
      out.set(name, { dtype: t.dtype, shape: [...t.shape], bytes: Buffer.from(t.bytes) });
    }
    return out;
  } finally {
    await source.close();
  }
}

async function expectSameTensors(actual: string, expected: string): Promise<void> {
  const a = await tensorsOf(actual);
  const b = await tensorsOf(expected);
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  for (const [name, t] of b) {
    const other = a.get(name)!;
    expect({ name, dtype: other.dtype, shape: other.shape }).toEqual({
      name,
      dtype: t.dtype,
      shape: t.shape,
    });
    expect(Buffer.compare(other.bytes, t.bytes), name).toBe(0);
  }
}

/** The index's shards: each one's tensor data (from its own header) within `max`, and the index's total_size right. */
async function expectShardsWithin(indexPath: string, max: number): Promise<string[]> {
  const index = JSON.parse(await readFile(indexPath, 'utf8'));
  const shards = [...new Set(Object.values(index.weight_map as Record<string, string>))].sort();
  let total = 0;
  for (const shard of shards) {
    const reader = await SafetensorsReader.open(join(indexPath, '..', shard));
    try {
      let bytes = 0;
      for (const name of reader.tensorNames()) {
        const info = reader.info(name);
        bytes += byteLength(info.dtype, elementCount(info.shape))!;
        expect(index.weight_map[name]).toBe(shard);
      }
      expect(bytes, shard).toBeLessThanOrEqual(max);
      total += bytes;
    } finally {
      await reader.close();
    }
  }
  expect(index.metadata.total_size).toBe(total);
  return shards;
}

function expectOk(run: { code: number; stderr: string }): void {
  expect(run.code, run.stderr).toBe(0);
}

describe('mal align with sharded outputs', () => {
  it('writes shards and an index that hold the bytes of the one-file output, each shard within the size', async () => {
    const sharded = await mal(
      'align',
      pair.base,
      pair.target,
      '--out',
      at('align-sharded'),
      '--max-shard-size',
      String(MAX_SHARD),
      '--json',
    );
    expectOk(sharded);
    const summary = JSON.parse(sharded.stdout);
    const indexPath = at('align-sharded/aligned.safetensors.index.json');
    expect(summary.aligned).toBe(indexPath);
    expect(summary.shards.length).toBeGreaterThan(2);
    const shards = await expectShardsWithin(indexPath, MAX_SHARD);
    expect(summary.shards).toEqual(shards.map((s) => at(`align-sharded/${s}`)));
    expect(shards).toEqual(
      shards.map(
        (_, i) =>
          `aligned-${String(i + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.safetensors`,
      ),
    );

    const single = await mal(
      'align',
      pair.base,
      pair.target,
      '--out',
      at('align-single'),
      '--max-shard-size',
      '1GB',
    );
    expectOk(single);
    expect((await readdir(at('align-single'))).filter((n) => !n.startsWith('.')).sort()).toEqual([
      'aligned.safetensors',
      'current',
      'maps.json',
    ]);
    await expectSameTensors(indexPath, at('align-single/aligned.safetensors'));
    // The folder itself opens as the model, through its one index.
    await expectSameTensors(at('align-sharded'), at('align-single/aligned.safetensors'));
  });

  it('maps the target onto the base: the aligned tensors are the base up to the 1 % noise, the raw target is not', async () => {
    const aligned = await tensorsOf(at('align-sharded'));
    const base = await tensorsOf(pair.base);
    const target = await tensorsOf(pair.target);
    const relative = (a: Buffer, b: Buffer, dtype: string, shape: number[]) => {
      const x = toFloat32({ dtype: dtype as 'BF16', shape, bytes: a });
      const y = toFloat32({ dtype: dtype as 'BF16', shape, bytes: b });
      let d = 0;
      let n = 0;
      for (let i = 0; i < x.length; i++) {
        d += (x[i] - y[i]) ** 2;
        n += y[i] ** 2;
      }
      return Math.sqrt(d / n);
    };
    const q = 'model.layers.1.self_attn.q_proj.weight';
    const b = base.get(q)!;
    expect(relative(target.get(q)!.bytes, b.bytes, b.dtype, b.shape)).toBeGreaterThan(0.5);
    for (const [name, t] of aligned) {
      const other = base.get(name)!;
      expect(relative(t.bytes, other.bytes, t.dtype, t.shape), name).toBeLessThan(0.05);
    }
  });

  it('shards by default (5GB) for a sharded base, one file when it all fits, and retires stale outputs of either kind', async () => {
    const out = at('align-switch');
    expectOk(await mal('align', pair.base, pair.target, '--out', out));
    // 5GB holds this model whole: one file, as Hugging Face saves a model of one shard.
    expect((await readdir(out)).filter((n) => !n.startsWith('.')).sort()).toEqual([
      'aligned.safetensors',
      'current',
      'maps.json',
    ]);
    expectOk(await mal('align', pair.base, pair.target, '--out', out, '--max-shard-size', String(MAX_SHARD)));
    const sharded = (await readdir(out)).filter((n) => !n.startsWith('.')).sort();
    expect(sharded).not.toContain('aligned.safetensors');
    expect(sharded).toContain('aligned.safetensors.index.json');
    const shardCount = sharded.filter((n) => /^aligned-\d{5}-of-\d{5}\.safetensors$/.test(n)).length;
    expect(shardCount).toBeGreaterThan(2);
    expect(sharded.length).toBe(shardCount + 3);
    for (const name of sharded.filter((n) => n !== 'current'))
      expect(await readlink(join(out, name))).toBe(`current/${name}`);
    await expectSameTensors(out, at('align-single/aligned.safetensors'));
    // Fewer, larger shards: the shards of the earlier run that this one lacks are gone.
    expectOk(await mal('align', pair.base, pair.target, '--out', out, '--max-shard-size', '80KB'));
    const fewer = (await readdir(out)).filter((n) => /^aligned-/.test(n));
    expect(fewer.length).toBeLessThan(shardCount);
    expect(fewer.every((n) => n.endsWith(`-of-${String(fewer.length).padStart(5, '0')}.safetensors`))).toBe(
      true,
    );
    await expectShardsWithin(join(out, 'aligned.safetensors.index.json'), 80_000);
    expectOk(await mal('align', pair.base, pair.target, '--out', out, '--max-shard-size', '1GiB'));
    expect((await readdir(out)).filter((n) => !n.startsWith('.')).sort()).toEqual([
      'aligned.safetensors',
      'current',
      'maps.json',
    ]);
    expect((await readdir(out)).filter((n) => n.startsWith('.mal-set-'))).toHaveLength(1);
  });

  it('refuses a size it cannot read, naming the option, before writing anything', async () => {
    const run = await mal(
      'align',
      pair.base,
      pair.target,
      '--out',
      at('align-bad'),
      '--max-shard-size',
      '5XB',
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--max-shard-size .*'5XB'/);
    await expect(stat(at('align-bad'))).rejects.toThrow(/ENOENT/);
  });
});

describe('mal merge to a model folder', () => {
  const merge = (out: string, ...more: string[]) =>
    mal(
      'merge',
      pair.base,
      pair.target,
      '--lambda',
      '0.3',
      '--maps',
      at('align-single/maps.json'),
      '--out',
      out,
      ...more,
    );

  it('writes shards, an index and the base config: a loadable model identical to the one-file merge', async () => {
    expectOk(await merge(at('merged.safetensors')));
    const run = await merge(at('merged'), '--max-shard-size', String(MAX_SHARD), '--json');
    expectOk(run);
    const summary = JSON.parse(run.stdout);
    const names = (await readdir(at('merged'))).filter((n) => !n.startsWith('.')).sort();
    const shards = await expectShardsWithin(at('merged/model.safetensors.index.json'), MAX_SHARD);
    expect(shards.length).toBeGreaterThan(2);
    expect(names).toEqual(['config.json', 'current', ...shards, 'model.safetensors.index.json'].sort());
    expect(summary.files.sort()).toEqual(names.filter((n) => n !== 'current').map((n) => at(`merged/${n}`)));
    expect(await readFile(at('merged/config.json'), 'utf8')).toBe(
      await readFile(join(pair.base, 'config.json'), 'utf8'),
    );
    await expectSameTensors(at('merged'), at('merged.safetensors'));
    const model = await loadModel(at('merged'));
    try {
      expect(model.spec.family).toBe('llama');
      expect(model.config?.num_hidden_layers).toBe(3);
    } finally {
      await model.source.close();
    }
  });

  it('writes model.safetensors alone when the model fits in one shard (default 5GB)', async () => {
    expectOk(await merge(at('merged-one')));
    expect((await readdir(at('merged-one'))).filter((n) => !n.startsWith('.')).sort()).toEqual([
      'config.json',
      'current',
      'model.safetensors',
    ]);
    await expectSameTensors(at('merged-one'), at('merged.safetensors'));
  });

  it('gives a random method (DARE) the same merge in shards as in one file', async () => {
    const dare = ['--method', 'dare-linear', '--ancestor', pair.base, '--drop-probability', '0.5'];
    expectOk(await merge(at('dare.safetensors'), ...dare));
    expectOk(await merge(at('dare'), ...dare, '--max-shard-size', String(MAX_SHARD)));
    await expectSameTensors(at('dare'), at('dare.safetensors'));
  });

  it("refuses the base's own folder as the output, leaving it as it was", async () => {
    const before = (await readdir(pair.base)).sort();
    const run = await merge(pair.base);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toMatch(/is the folder of the base model/);
    expect((await readdir(pair.base)).sort()).toEqual(before);
  });

  it("refuses a folder holding another model's files the new one would not replace, before any work", async () => {
    // A plain model.safetensors (say, a model saved there before): shards beside it would be shadowed by it, as
    // loaders (mal, Hugging Face) take model.safetensors first.
    const single = at('holds-single');
    await mkdir(single);
    await copyFile(at('merged.safetensors'), join(single, 'model.safetensors'));
    const shardedRun = await merge(single, '--max-shard-size', String(MAX_SHARD));
    expect(shardedRun.code, shardedRun.stderr).toBe(1);
    expect(shardedRun.stderr).toMatch(/holds-single: holds model\.safetensors/);
    expect(await readdir(single)).toEqual(['model.safetensors']);
    // A Hugging Face folder of shards and index: one model.safetensors beside them would leave a mix.
    const hf = at('holds-shards');
    await mkdir(hf);
    const before: string[] = [];
    for (const name of await readdir(pair.target)) {
      if (name === 'config.json') continue;
      await copyFile(join(pair.target, name), join(hf, name));
      before.push(name);
    }
    const singleRun = await merge(hf);
    expect(singleRun.code, singleRun.stderr).toBe(1);
    expect(singleRun.stderr).toMatch(/model\.safetensors\.index\.json/);
    expect((await readdir(hf)).sort()).toEqual(before.sort());
    // The same name is replaced as any output file is: a lone model.safetensors under a one-file merge.
    expectOk(await merge(single));
    await expectSameTensors(single, at('merged.safetensors'));
  });

  it('refuses --max-shard-size for a one-file output', async () => {
    const run = await merge(at('x.safetensors'), '--max-shard-size', '1GB');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--max-shard-size/);
  });

  it('leaves no shard, index or folder behind when a target tensor is not finite midway', async () => {
    // The target with one weight of the last block NaN: the merge fails after earlier shards were written.
    const bad = at('target-nan');
    await mkdir(bad);
    const source = await openModel(pair.target);
    const poisoned = 'model.layers.2.mlp.down_proj.weight';
    try {
      await writeShardedSafetensors(
        bad,
        source.tensorNames().map((n) => source.info(n)),
        async (name) => {
          const bytes = Uint8Array.from((await source.read(name)).bytes);
          if (name === poisoned) bytes.set([0xc0, 0x7f], 2); // BF16 NaN
          return bytes;
        },
        { maxShardBytes: MAX_SHARD },
      );
    } finally {
      await source.close();
    }
    await copyFile(join(pair.target, 'config.json'), join(bad, 'config.json'));
    const failing = (out: string) =>
      mal(
        'merge',
        pair.base,
        bad,
        '--lambda',
        '0.3',
        '--maps',
        at('align-single/maps.json'),
        '--out',
        out,
        '--max-shard-size',
        String(MAX_SHARD),
      );

    const fresh = await failing(at('merged-failed'));
    expect(fresh.code, fresh.stderr).toBe(1);
    expect(fresh.stderr).toContain(poisoned);
    // The shard that holds it, not only the model's folder: a 7B model has several to look in.
    const index = JSON.parse(await readFile(join(bad, 'model.safetensors.index.json'), 'utf8'));
    expect(fresh.stderr).toContain(`${join(bad, index.weight_map[poisoned])}: tensor '${poisoned}'`);
    await expect(stat(at('merged-failed'))).rejects.toThrow(/ENOENT/);

    // Over an earlier merge: that one stays whole and nothing of the failed run is left.
    const before = (await readdir(at('merged'))).sort();
    const again = await failing(at('merged'));
    expect(again.code, again.stderr).toBe(1);
    expect((await readdir(at('merged'))).sort()).toEqual(before);
    await expectSameTensors(at('merged'), at('merged.safetensors'));
  });
});
