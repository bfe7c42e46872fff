import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SafetensorsReader } from '../../src/io/safetensors-reader.js';
import { writeSafetensorsTensors } from '../../src/io/safetensors-writer.js';
import { fromFloat32 } from '../../src/tensor/float-conversion.js';
import type { RawTensor } from '../../src/tensor/tensor.js';
import { makeMlp } from '../support/model-factory.js';
import { runMal } from '../support/run-mal.js';

let dir: string;
const plain = (seed: number) => makeMlp({ widths: [20, 24, 12, 5], naming: 'fc', seed });

/** The model with fc1.weight as E4M3 codes and a per-tensor scale beside it, as compressed-tensors writes FP8. */
function withFp8(seed: number, scale: number): Map<string, RawTensor> {
  const out = new Map<string, RawTensor>();
  for (const [name, t] of plain(seed).tensors) {
    if (name === 'fc1.weight') {
      const codes = new Uint8Array(t.data.length).map((_, i) => (i * 37 + seed) & 0x77);
      out.set(name, { dtype: 'F8_E4M3', shape: t.shape, bytes: codes });
      out.set('fc1.weight_scale', fromFloat32(new Float32Array([scale]), 'F32', []));
    } else out.set(name, fromFloat32(t.data, 'F32', t.shape));
  }
  return out;
}

async function bytesOf(path: string, name: string): Promise<Uint8Array> {
  const reader = await SafetensorsReader.open(path);
  try {
    return (await reader.read(name)).bytes;
  } finally {
    await reader.close();
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mal-fp8-'));
  await writeSafetensorsTensors(join(dir, 'fp8-a.safetensors'), withFp8(3, 0.01));
  await writeSafetensorsTensors(join(dir, 'fp8-b.safetensors'), withFp8(4, 0.02));
  const f32 = new Map([...plain(5).tensors].map(([n, t]) => [n, fromFloat32(t.data, 'F32', t.shape)]));
  await writeSafetensorsTensors(join(dir, 'f32.safetensors'), f32);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('models with FP8 weights and their scales', () => {
  it('inspect places the scale beside its weight', async () => {
    const run = await runMal(['inspect', join(dir, 'fp8-a.safetensors'), '--json']);
    expect(run.code, run.stderr).toBe(0);
    const { spec } = JSON.parse(run.stdout);
    const scale = spec.tensors.find((t: { name: string }) => t.name === 'fc1.weight_scale');
    expect(scale).toEqual({ name: 'fc1.weight_scale', axes: [], merge: false });
  });

  it('merge into an FP8 base copies weight and scale from the base, byte for byte', async () => {
    const out = join(dir, 'merged.safetensors');
    const run = await runMal([
      'merge',
      join(dir, 'fp8-a.safetensors'),
      join(dir, 'fp8-b.safetensors'),
      '--lambda',
      '0.5',
      '--out',
      out,
    ]);
    expect(run.code, run.stderr).toBe(0);
    for (const name of ['fc1.weight', 'fc1.weight_scale']) {
      expect(await bytesOf(out, name)).toEqual(await bytesOf(join(dir, 'fp8-a.safetensors'), name));
    }
  });

  it('refuses to read a scaled FP8 weight as values without its scale, and writes nothing', async () => {
    const out = join(dir, 'unscaled.safetensors');
    const run = await runMal([
      'merge',
      join(dir, 'f32.safetensors'),
      join(dir, 'fp8-a.safetensors'),
      '--lambda',
      '0.5',
      '--out',
      out,
    ]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('fc1.weight');
    expect(run.stderr).toContain('fc1.weight_scale');
    expect(run.stderr).toContain('fp8-a.safetensors');
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(out)).toBe(false);
  });
});
