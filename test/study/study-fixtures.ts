import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Dataset } from '../../src/data/dataset.js';
import { writeDatasetArrow } from '../../src/data/dataset-arrow-writer.js';
import { writeSafetensorsTensors } from '../../src/io/safetensors-writer.js';
import { SeededRandom } from '../../src/random/seeded-random.js';
import type { StudyCell, StudyCellModel } from '../../src/study/study-cell.js';
import { defaultAlignmentSettings } from '../../src/study/study-defaults.js';
import { fromFloat32 } from '../../src/tensor/float-conversion.js';
import type { FloatTensor } from '../../src/tensor/tensor.js';
import { sha256File } from '../../src/zoo/model-hash.js';

export async function scratch(): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'mal-study-test-'));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** Three classes of 8×8 images, each a bright band of rows at its own height: learnable, tiny. */
export function bands(count: number, seed: number): Dataset {
  const random = new SeededRandom(seed);
  const features = new Float32Array(count * 64);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const label = i % 3;
    labels[i] = label;
    for (let p = 0; p < 64; p++) {
      const row = Math.floor(p / 8);
      const inBand = row >= label * 3 && row < label * 3 + 2;
      features[i * 64 + p] = Math.min(1, Math.max(0, (inBand ? 0.8 : 0.1) + 0.1 * random.normal()));
    }
  }
  return { name: 'bands', count, exampleShape: [1, 8, 8], features, labels, classes: 3 };
}

export async function writeBands(path: string, count: number, seed: number): Promise<string> {
  await writeDatasetArrow(path, bands(count, seed));
  return path;
}

/** Writes float32 tensors as one safetensors file; returns the StudyCellModel naming it. */
export async function writeStudyModel(
  path: string,
  tensors: ReadonlyMap<string, FloatTensor>,
  info: { id: string; arch: string; depth: number; data?: string; domain?: string },
  config: Readonly<Record<string, string | number>> = {},
): Promise<StudyCellModel> {
  const metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(config)) metadata[key] = String(value);
  await writeSafetensorsTensors(
    path,
    new Map([...tensors].map(([name, t]) => [name, fromFloat32(t.data, 'F32', t.shape)])),
    metadata,
  );
  return {
    id: info.id,
    sha256: await sha256File(path),
    family: 'mlp',
    arch: info.arch,
    depth: info.depth,
    data: info.data ?? 'bands',
    domain: info.domain ?? 'bands',
    path,
  };
}

export function cellOf(
  base: StudyCellModel,
  target: StudyCellModel,
  fields: Partial<StudyCell> & Pick<StudyCell, 'baseLayers' | 'targetLayers' | 'evalData'>,
): StudyCell {
  return {
    base,
    target,
    position: 'all',
    aligned: true,
    alignment: defaultAlignmentSettings(),
    seed: 1,
    evalLimit: 90,
    batchSize: 64,
    grid: [0, 0.25, 0.5, 0.75, 1],
    epsilonFraction: 0.01,
    unmatched: 'zero',
    backend: 'cpu',
    ...fields,
  };
}
