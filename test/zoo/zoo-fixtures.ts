import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSafetensorsTensors } from '../../src/io/safetensors-writer.js';
import { writeShardedSafetensors } from '../../src/io/sharded-writer.js';
import { fromFloat32 } from '../../src/tensor/float-conversion.js';
import type { RawTensor } from '../../src/tensor/tensor.js';
import { makeMlp } from '../support/model-factory.js';

export async function scratch(): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'mal-zoo-test-'));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

function rawMlp(widths: readonly number[], seed: number): Map<string, RawTensor> {
  const model = makeMlp({ widths, naming: 'layers', seed });
  return new Map([...model.tensors].map(([name, t]) => [name, fromFloat32(t.data, 'F32', t.shape)]));
}

/** A small MLP `[in, …, out]` as one safetensors file. */
export async function writeMlpFile(
  path: string,
  widths: readonly number[],
  seed: number,
  metadata?: Record<string, string>,
): Promise<string> {
  await writeSafetensorsTensors(path, rawMlp(widths, seed), metadata);
  return path;
}

/** The same MLP split over shards (one tensor per shard at this size) with an index, in `folder`. */
export async function writeShardedMlp(
  folder: string,
  widths: readonly number[],
  seed: number,
): Promise<string> {
  await mkdir(folder, { recursive: true });
  const tensors = rawMlp(widths, seed);
  await writeShardedSafetensors(
    folder,
    [...tensors].map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape })),
    (name) => tensors.get(name)!.bytes,
    { maxShardBytes: 64 },
  );
  return folder;
}

/** Tensors that fit no family: a rank-3 tensor, which derivation refuses. */
export async function writeUnplaceableFile(path: string): Promise<string> {
  await writeSafetensorsTensors(
    path,
    new Map([['blob.weight', fromFloat32(new Float32Array(24), 'F32', [2, 3, 4])]]),
  );
  return path;
}
