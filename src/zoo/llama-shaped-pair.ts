import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mapTargetTensor } from '../align/apply-maps.js';
import { inverseMaps } from '../align/inverse-maps.js';
import type { SpaceMap } from '../align/space-map.js';
import { writeShardedSafetensors } from '../io/sharded-writer.js';
import type { TensorInfo } from '../io/tensor-source.js';
import { fillIrwinHallNormal } from '../random/irwin-hall-normal.js';
import { SeededRandom } from '../random/seeded-random.js';
import { addUniformNoise } from '../random/uniform-noise.js';
import type { ArchitectureSpec } from '../spec/architecture-spec.js';
import { deriveSpec } from '../spec/derive-spec.js';
import { computeSpaceWidths } from '../spec/space-widths.js';
import { fromFloat32 } from '../tensor/float-conversion.js';

/** The shape of a synthetic LLaMA model; the defaults are LLaMA-2-7B's block with a 256-token vocabulary. */
export interface LlamaShape {
  readonly blocks: number;
  readonly hidden: number;
  readonly intermediate: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly vocab: number;
}

export const LLAMA_7B_BLOCK: Omit<LlamaShape, 'blocks'> = {
  hidden: 4096,
  intermediate: 11008,
  heads: 32,
  kvHeads: 8,
  vocab: 256,
};

export interface LlamaShapedPairOptions extends LlamaShape {
  readonly seed: number;
  /** Standard deviation of the (uniform) noise added to the permuted copy, relative to the weights' (0.01 = 1 %). */
  readonly noise: number;
  /** Largest shard; each model is written as shards plus model.safetensors.index.json. */
  readonly maxShardBytes: number;
  readonly onTensor?: (model: 'base' | 'target', name: string, done: number, total: number) => void;
}

export interface LlamaShapedPair {
  readonly base: string;
  readonly target: string;
  /** For every free base space, the map alignment should find (the inverse of the permutation applied). */
  readonly expectedMaps: ReadonlyMap<string, Int32Array>;
}

const WEIGHT_SCALE = 0.02;
/** Spread of the norm weights around 1. */
const NORM_SCALE = 0.1;

/** Names and shapes of a LLaMA model's tensors, in the order Hugging Face writes them. */
export function llamaTensorInfos(shape: LlamaShape): TensorInfo[] {
  const { hidden: h, intermediate: m, vocab: v } = shape;
  const headDim = h / shape.heads;
  if (!Number.isInteger(headDim) || shape.heads % shape.kvHeads !== 0)
    throw new RangeError(`hidden ${h} must split into ${shape.heads} heads in groups over ${shape.kvHeads}`);
  const kv = shape.kvHeads * headDim;
  const t = (name: string, ...dims: number[]): TensorInfo => ({ name, dtype: 'BF16', shape: dims });
  const out = [t('model.embed_tokens.weight', v, h)];
  for (let i = 0; i < shape.blocks; i++) {
    const p = `model.layers.${i}`;
    out.push(
      t(`${p}.input_layernorm.weight`, h),
      t(`${p}.self_attn.q_proj.weight`, h, h),
      t(`${p}.self_attn.k_proj.weight`, kv, h),
      t(`${p}.self_attn.v_proj.weight`, kv, h),
      t(`${p}.self_attn.o_proj.weight`, h, h),
      t(`${p}.post_attention_layernorm.weight`, h),
      t(`${p}.mlp.gate_proj.weight`, m, h),
      t(`${p}.mlp.up_proj.weight`, m, h),
      t(`${p}.mlp.down_proj.weight`, h, m),
    );
  }
  out.push(t('model.norm.weight', h), t('lm_head.weight', v, h));
  return out;
}

export function llamaConfig(shape: LlamaShape): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: shape.hidden,
    intermediate_size: shape.intermediate,
    num_attention_heads: shape.heads,
    num_key_value_heads: shape.kvHeads,
    num_hidden_layers: shape.blocks,
    vocab_size: shape.vocab,
    rms_norm_eps: 1e-6,
    torch_dtype: 'bfloat16',
  };
}

/**
 * Writes a seeded synthetic LLaMA model (`<folder>/base`) and a copy of it with every free space randomly
 * permuted (nested spaces inside each parent unit) plus noise (`<folder>/target`), both sharded bf16 with an
 * index, one tensor in memory at a time: the pair that memory-bounded alignment is measured on.
 */
export async function writeLlamaShapedPair(
  folder: string,
  options: LlamaShapedPairOptions,
): Promise<LlamaShapedPair> {
  const infos = llamaTensorInfos(options);
  const config = llamaConfig(options);
  const spec = deriveSpec(infos, { config });
  const widths = computeSpaceWidths(spec, new Map(infos.map((i) => [i.name, i.shape])));
  const random = new SeededRandom(options.seed);
  const perms = new Map<string, Int32Array>();
  for (const space of spec.spaces) {
    if (space.kind !== 'free') continue;
    const width = widths.get(space.name)!;
    const copies = space.parent === undefined ? 1 : widths.get(space.parent)!;
    const perm = new Int32Array(copies * width);
    for (let u = 0; u < copies; u++) perm.set(random.permutation(width), u * width);
    perms.set(space.name, perm);
  }
  const maps = permutationMaps(spec, widths, perms);
  const axes = new Map(spec.tensors.map((t) => [t.name, t.axes]));

  // Normal-ish weights (Irwin–Hall) and uniform noise: the pair is about shapes and permutations, and Box–Muller
  // one sample at a time made a 7B-shaped block take most of a minute to write.
  const baseTensor = (info: TensorInfo): Float32Array => {
    const out = new Float32Array(info.shape.reduce((a, b) => a * b, 1));
    const random = new SeededRandom(tensorSeed(options.seed, info.name));
    if (info.shape.length === 1) fillIrwinHallNormal(random, out, NORM_SCALE, 1);
    else fillIrwinHallNormal(random, out, WEIGHT_SCALE);
    return out;
  };
  const targetTensor = (info: TensorInfo): Float32Array => {
    const a = axes.get(info.name)!;
    const mapped = mapTargetTensor(
      {
        targetName: info.name,
        target: { shape: info.shape, data: baseTensor(info) },
        baseAxes: a,
        targetAxes: a,
        baseShape: info.shape,
      },
      maps,
      'incompatible',
    ).data;
    const scale = options.noise * (info.shape.length === 1 ? NORM_SCALE : WEIGHT_SCALE);
    addUniformNoise(new SeededRandom(tensorSeed(options.seed ^ 0x5eed, info.name)), mapped, scale);
    return mapped;
  };

  const paths = { base: join(folder, 'base'), target: join(folder, 'target') };
  for (const side of ['base', 'target'] as const) {
    await mkdir(paths[side], { recursive: true });
    const byName = new Map(infos.map((i) => [i.name, i]));
    let done = 0;
    await writeShardedSafetensors(
      paths[side],
      infos,
      (name) => {
        const info = byName.get(name)!;
        const data = side === 'base' ? baseTensor(info) : targetTensor(info);
        options.onTensor?.(side, name, ++done, infos.length);
        return fromFloat32(data, 'BF16', info.shape).bytes;
      },
      { maxShardBytes: options.maxShardBytes, metadata: { format: 'pt' } },
    );
    await writeFile(join(paths[side], 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  }
  return { ...paths, expectedMaps: inverseMaps(spec.spaces, widths, perms) };
}

/** Maps that read base unit `perm[i]` into unit `i` (nested spaces inside each parent unit). */
function permutationMaps(
  spec: ArchitectureSpec,
  widths: ReadonlyMap<string, number>,
  perms: ReadonlyMap<string, Int32Array>,
): Map<string, SpaceMap> {
  const maps = new Map<string, SpaceMap>();
  for (const space of spec.spaces) {
    const width = widths.get(space.name)!;
    const parentWidth = space.parent === undefined ? 1 : widths.get(space.parent)!;
    let map = perms.get(space.name);
    if (map === undefined) {
      map = new Int32Array(parentWidth * width);
      for (let i = 0; i < map.length; i++) map[i] = i % width;
    }
    maps.set(space.name, {
      baseSpace: space.name,
      targetSpace: space.name,
      kind: space.kind,
      baseWidth: width,
      targetWidth: width,
      ...(space.parent === undefined ? {} : { parent: { space: space.parent, baseWidth: parentWidth } }),
      map,
    });
  }
  return maps;
}

/** A seed per tensor (FNV-1a of its name mixed with the pair's seed), so each is generated on its own. */
function tensorSeed(seed: number, name: string): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
