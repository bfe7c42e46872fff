import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mapTargetTensor } from '../../src/align/apply-maps.js';
import type { SpaceMap } from '../../src/align/space-map.js';
import { initialMap } from '../../src/align/space-map.js';
import { type LoadedModel, loadModel } from '../../src/model/load-model.js';
import { toFloat32 } from '../../src/tensor/float-conversion.js';
import {
  type LlamaShapedPair,
  type LlamaShapedPairOptions,
  writeLlamaShapedPair,
} from '../../src/zoo/llama-shaped-pair.js';

const TINY: LlamaShapedPairOptions = {
  blocks: 2,
  hidden: 16,
  intermediate: 24,
  heads: 4,
  kvHeads: 2,
  vocab: 8,
  seed: 11,
  noise: 0.01,
  maxShardBytes: 1500,
};

let dir: string;
let pair: LlamaShapedPair;
let base: LoadedModel;
let target: LoadedModel;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mal-llama-pair-'));
  pair = await writeLlamaShapedPair(join(dir, 'a'), TINY);
  base = await loadModel(pair.base);
  target = await loadModel(pair.target);
});

afterAll(async () => {
  await base?.source.close();
  await target?.source.close();
  await rm(dir, { recursive: true, force: true });
});

async function filesOf(folder: string): Promise<Map<string, Buffer>> {
  const names = (await readdir(folder)).sort();
  return new Map(await Promise.all(names.map(async (n) => [n, await readFile(join(folder, n))] as const)));
}

/** Every space's map: the expected one for a free space, identity for a fixed one. */
function undoingMaps(model: LoadedModel, expected: ReadonlyMap<string, Int32Array>): Map<string, SpaceMap> {
  const maps = new Map<string, SpaceMap>();
  for (const space of model.spec.spaces) {
    const width = model.widths.get(space.name)!;
    const parentWidth = space.parent === undefined ? 1 : model.widths.get(space.parent)!;
    maps.set(space.name, {
      baseSpace: space.name,
      targetSpace: space.name,
      kind: space.kind,
      baseWidth: width,
      targetWidth: width,
      ...(space.parent === undefined ? {} : { parent: { space: space.parent, baseWidth: parentWidth } }),
      map: expected.get(space.name) ?? initialMap(width, width, parentWidth),
    });
  }
  return maps;
}

/** Largest |target mapped by `maps| − base| over the model, relative to what noise plus bf16 rounding allow. */
async function worstDeviation(maps: Map<string, SpaceMap>): Promise<number> {
  let worst = 0;
  for (const name of base.source.tensorNames()) {
    const b = toFloat32(await base.source.read(name));
    const raw = await target.source.read(name);
    const axes = base.spec.tensors.find((t) => t.name === name)!.axes;
    const mapped = mapTargetTensor(
      {
        targetName: name,
        target: { shape: raw.shape, data: toFloat32(raw) },
        baseAxes: axes,
        targetAxes: axes,
        baseShape: raw.shape,
      },
      maps,
      'incompatible',
    ).data;
    const spread = raw.shape.length === 1 ? 0.1 : 0.02;
    for (let i = 0; i < b.length; i++) {
      // Uniform noise stays within √3 σ; each side was rounded to bf16 (8 significant bits).
      const allowed = Math.sqrt(3) * TINY.noise * spread + (Math.abs(b[i]) + Math.abs(mapped[i])) * 2 ** -8;
      worst = Math.max(worst, Math.abs(mapped[i] - b[i]) / allowed);
    }
  }
  return worst;
}

describe('writeLlamaShapedPair', () => {
  it('writes models that load as the llama family with the asked shape', () => {
    for (const model of [base, target]) {
      expect(model.spec.family).toBe('llama');
      expect(model.config?.num_hidden_layers).toBe(2);
      expect(model.source.info('model.layers.1.mlp.down_proj.weight')).toMatchObject({
        dtype: 'BF16',
        shape: [16, 24],
      });
    }
    expect(pair.expectedMaps.size).toBeGreaterThan(0);
    for (const [name] of pair.expectedMaps) {
      expect(base.spec.spaces.find((s) => s.name === name)?.kind).toBe('free');
    }
  });

  it('writes the target as the permuted base within the noise: undoing the expected maps recovers it', async () => {
    const undone = await worstDeviation(undoingMaps(base, pair.expectedMaps));
    expect(undone).toBeLessThanOrEqual(1);
    // The permutation is real: read unpermuted, the target is nowhere near the base.
    expect(await worstDeviation(undoingMaps(base, new Map()))).toBeGreaterThan(10);
    // And so is the noise.
    const weights = 'model.layers.0.mlp.up_proj.weight';
    const b = toFloat32(await base.source.read(weights));
    const t = toFloat32(await target.source.read(weights));
    expect([...b].sort()).not.toEqual([...t].sort());
  });

  it('shards each model within maxShardBytes, with an index naming every tensor', async () => {
    for (const folder of [pair.base, pair.target]) {
      const index = JSON.parse(await readFile(join(folder, 'model.safetensors.index.json'), 'utf8')) as {
        weight_map: Record<string, string>;
      };
      const model = folder === pair.base ? base : target;
      const bytes = new Map<string, number>();
      for (const [name, shard] of Object.entries(index.weight_map)) {
        const size = model.source.info(name).shape.reduce((a, b) => a * b, 2);
        expect(size).toBeLessThanOrEqual(TINY.maxShardBytes);
        bytes.set(shard, (bytes.get(shard) ?? 0) + size);
      }
      expect(Object.keys(index.weight_map).sort()).toEqual([...model.source.tensorNames()].sort());
      expect(bytes.size).toBeGreaterThan(2);
      for (const total of bytes.values()) expect(total).toBeLessThanOrEqual(TINY.maxShardBytes);
      const shards = (await readdir(folder)).filter((f) => f.endsWith('.safetensors'));
      expect(shards.sort()).toEqual([...bytes.keys()].sort());
    }
  });

  it('is deterministic: the same seed writes the same bytes and the same maps, another seed does not', async () => {
    const again = await writeLlamaShapedPair(join(dir, 'b'), TINY);
    const other = await writeLlamaShapedPair(join(dir, 'c'), { ...TINY, seed: 12 });
    for (const side of ['base', 'target'] as const) {
      const first = await filesOf(pair[side]);
      expect(await filesOf(again[side])).toEqual(first);
      const shard = [...first.keys()].find((n) => n.endsWith('.safetensors'))!;
      expect((await filesOf(other[side])).get(shard)).not.toEqual(first.get(shard));
    }
    expect(again.expectedMaps).toEqual(pair.expectedMaps);
    expect(other.expectedMaps).not.toEqual(pair.expectedMaps);
  });
});
