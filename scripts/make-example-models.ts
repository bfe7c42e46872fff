/**
 * Regenerates the small example models the repository ships (examples/models/), deterministically:
 *   npx tsx scripts/make-example-models.ts
 *
 * - mlp-base: an MLP 784→128→64→10 (float32).
 * - mlp-wide: a "cousin" of other widths, 784→192→48→10 (float16): 128 of its 192 first-layer units and 48 of
 *   the base's 64 second-layer units are the base's own units, shuffled, with noise; the rest are fresh random
 *   units. Aligning it to the base should find those units again.
 * - gpt2-tiny: a 2-block GPT-2 layout with config.json, for `mal inspect`.
 * These are not trained: until the zoo trains real models they show the mechanics, not accuracy.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeSafetensorsTensors } from '../src/io/safetensors-writer.js';
import { SeededRandom } from '../src/random/seeded-random.js';
import type { DType } from '../src/tensor/dtype.js';
import { fromFloat32 } from '../src/tensor/float-conversion.js';
import type { RawTensor } from '../src/tensor/tensor.js';

const root = join(import.meta.dirname, '..', 'examples', 'models');

type Tensors = Map<string, { shape: number[]; data: Float32Array }>;

function encode(tensors: Tensors, dtype: DType): Map<string, RawTensor> {
  return new Map([...tensors].map(([name, t]) => [name, fromFloat32(t.data, dtype, t.shape)]));
}

function mlp(widths: readonly number[], random: SeededRandom): Tensors {
  const tensors: Tensors = new Map();
  for (let l = 0; l + 1 < widths.length; l++) {
    const [fanIn, fanOut] = [widths[l], widths[l + 1]];
    tensors.set(`layers.${l}.weight`, {
      shape: [fanOut, fanIn],
      data: random.normalArray(fanOut * fanIn, Math.sqrt(2 / fanIn)),
    });
    tensors.set(`layers.${l}.bias`, { shape: [fanOut], data: random.normalArray(fanOut, 0.05) });
  }
  return tensors;
}

/** Where each target unit comes from: a base unit index, or -1 for a fresh random unit. */
function sources(baseWidth: number, targetWidth: number, random: SeededRandom): Int32Array {
  const src = new Int32Array(targetWidth).fill(-1);
  const slots = random.permutation(targetWidth);
  const picks = random.permutation(baseWidth);
  for (let k = 0; k < Math.min(baseWidth, targetWidth); k++) src[slots[k]] = picks[k];
  return src;
}

function cousin(
  base: Tensors,
  baseWidths: readonly number[],
  widths: readonly number[],
  random: SeededRandom,
): Tensors {
  const fresh = mlp(widths, random);
  const from = widths.map((w, s) =>
    s === 0 || s === widths.length - 1
      ? Int32Array.from({ length: w }, (_, i) => i)
      : sources(baseWidths[s], w, random),
  );
  for (let l = 0; l + 1 < widths.length; l++) {
    const w = base.get(`layers.${l}.weight`)!;
    const b = base.get(`layers.${l}.bias`)!;
    const fw = fresh.get(`layers.${l}.weight`)!;
    const fb = fresh.get(`layers.${l}.bias`)!;
    const [rows, cols] = fw.shape;
    for (let r = 0; r < rows; r++) {
      const br = from[l + 1][r];
      if (br < 0) continue;
      fb.data[r] = b.data[br] + 0.02 * random.normal();
      for (let c = 0; c < cols; c++) {
        const bc = from[l][c];
        if (bc >= 0)
          fw.data[r * cols + c] =
            w.data[br * w.shape[1] + bc] + 0.02 * random.normal() * Math.sqrt(2 / baseWidths[l]);
      }
    }
  }
  return fresh;
}

function gpt2(random: SeededRandom): { tensors: Tensors; config: Record<string, number | string> } {
  const d = 32;
  const tensors: Tensors = new Map();
  const add = (name: string, shape: number[], scale: number) =>
    tensors.set(name, {
      shape,
      data: random.normalArray(
        shape.reduce((x, y) => x * y, 1),
        scale,
      ),
    });
  add('transformer.wte.weight', [64, d], 0.1);
  add('transformer.wpe.weight', [16, d], 0.1);
  for (let i = 0; i < 2; i++) {
    const p = `transformer.h.${i}`;
    for (const ln of ['ln_1', 'ln_2']) {
      tensors.set(`${p}.${ln}.weight`, { shape: [d], data: new Float32Array(d).fill(1) });
      add(`${p}.${ln}.bias`, [d], 0.01);
    }
    add(`${p}.attn.c_attn.weight`, [d, 3 * d], 0.1);
    add(`${p}.attn.c_attn.bias`, [3 * d], 0.01);
    add(`${p}.attn.c_proj.weight`, [d, d], 0.1);
    add(`${p}.attn.c_proj.bias`, [d], 0.01);
    add(`${p}.mlp.c_fc.weight`, [d, 4 * d], 0.1);
    add(`${p}.mlp.c_fc.bias`, [4 * d], 0.01);
    add(`${p}.mlp.c_proj.weight`, [4 * d, d], 0.1);
    add(`${p}.mlp.c_proj.bias`, [d], 0.01);
  }
  tensors.set('transformer.ln_f.weight', { shape: [d], data: new Float32Array(d).fill(1) });
  add('transformer.ln_f.bias', [d], 0.01);
  return {
    tensors,
    config: { model_type: 'gpt2', n_embd: d, n_head: 4, n_layer: 2, n_positions: 16, vocab_size: 64 },
  };
}

async function main(): Promise<void> {
  const random = new SeededRandom(2025);
  const baseWidths = [784, 128, 64, 10];
  const base = mlp(baseWidths, random);
  const wide = cousin(base, baseWidths, [784, 192, 48, 10], random);
  const tiny = gpt2(random);
  const metadata = {
    format: 'pt',
    'mal.note': 'untrained example model made by scripts/make-example-models.ts',
  };
  for (const [name, tensors, dtype] of [
    ['mlp-base', base, 'F32'],
    ['mlp-wide', wide, 'F16'],
    ['gpt2-tiny', tiny.tensors, 'F32'],
  ] as const) {
    const dir = join(root, name);
    await mkdir(dir, { recursive: true });
    await writeSafetensorsTensors(join(dir, 'model.safetensors'), encode(tensors, dtype), metadata);
    console.log(`wrote ${join(dir, 'model.safetensors')}`);
  }
  await writeFile(join(root, 'gpt2-tiny', 'config.json'), `${JSON.stringify(tiny.config, null, 2)}\n`);
}

await main();
