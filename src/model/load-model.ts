import { NonFiniteWeightsError } from '../errors.js';
import { openModel, readModelConfig } from '../io/open-model.js';
import type { TensorSource } from '../io/tensor-source.js';
import type { ArchitectureFamily, ArchitectureSpec, SpaceWidths } from '../spec/architecture-spec.js';
import { deriveSpec } from '../spec/derive-spec.js';
import { computeSpaceWidths } from '../spec/space-widths.js';
import { loadSpecFile } from '../spec/spec-file.js';
import { toFloat32 } from '../tensor/float-conversion.js';
import { firstNonFinite } from '../tensor/non-finite.js';
import type { FloatTensor } from '../tensor/tensor.js';

/** A model opened for alignment or merging: its tensors (read lazily), its spec and the widths of its spaces. */
export interface LoadedModel {
  readonly path: string;
  readonly source: TensorSource;
  readonly spec: ArchitectureSpec;
  readonly widths: SpaceWidths;
  /** config.json beside the model, when there is one. */
  readonly config?: Readonly<Record<string, unknown>>;
}

export interface LoadModelOptions {
  /** A hand-written spec file (JSON or YAML) instead of deriving one from tensor names and shapes. */
  readonly specFile?: string;
  readonly family?: ArchitectureFamily;
}

export async function loadModel(path: string, options: LoadModelOptions = {}): Promise<LoadedModel> {
  const source = await openModel(path);
  try {
    const config = await readModelConfig(path);
    const infos = source.tensorNames().map((name) => source.info(name));
    const spec =
      options.specFile !== undefined
        ? await loadSpecFile(options.specFile)
        : deriveSpec(infos, { config: config ?? source.metadata, family: options.family });
    const widths = computeSpaceWidths(spec, new Map(infos.map((i) => [i.name, i.shape])));
    return { path, source, spec, widths, config };
  } catch (e) {
    await source.close();
    throw e;
  }
}

/** Reads tensors as float32, refusing NaN and ±Inf: weights that are not finite are reported, never merged. */
export async function readFiniteFloatTensor(model: LoadedModel, name: string): Promise<FloatTensor> {
  const raw = await model.source.read(name);
  const data = toFloat32(raw);
  const bad = firstNonFinite(data);
  if (bad >= 0) throw new NonFiniteWeightsError(model.path, name, bad, data[bad]);
  return { shape: raw.shape, data };
}

export async function readFiniteFloatTensors(
  model: LoadedModel,
  names: Iterable<string>,
): Promise<Map<string, FloatTensor>> {
  const out = new Map<string, FloatTensor>();
  for (const name of names) out.set(name, await readFiniteFloatTensor(model, name));
  return out;
}
