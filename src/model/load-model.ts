import { NonFiniteWeightsError, QuantisedWeightError } from '../errors.js';
import { openModel, readModelConfig } from '../io/open-model.js';
import { tensorFile } from '../io/tensor-file.js';
import type { TensorInfo, TensorSource } from '../io/tensor-source.js';
import type { ArchitectureFamily, ArchitectureSpec, SpaceWidths } from '../spec/architecture-spec.js';
import { deriveSpec } from '../spec/derive-spec.js';
import { quantisationScales } from '../spec/quantisation-scales.js';
import { computeSpaceWidths } from '../spec/space-widths.js';
import { loadSpecFile } from '../spec/spec-file.js';
import { isMergeableDType } from '../tensor/dtype.js';
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
    const spec = copyingUnmergeableDtypes(
      options.specFile !== undefined
        ? await loadSpecFile(options.specFile)
        : deriveSpec(infos, { config: config ?? source.metadata, family: options.family }),
      infos,
    );
    const widths = computeSpaceWidths(spec, new Map(infos.map((i) => [i.name, i.shape])));
    return { path, source, spec, widths, config };
  } catch (e) {
    await source.close();
    throw e;
  }
}

/**
 * The spec with every tensor whose dtype the merge cannot compute in (C64, F4, F6, FP8: see isMergeableDType)
 * marked merge: false, so alignment leaves it alone and the merge copies it from the base byte for byte.
 */
export function copyingUnmergeableDtypes(
  spec: ArchitectureSpec,
  infos: readonly TensorInfo[],
): ArchitectureSpec {
  const dtypes = new Map(infos.map((i) => [i.name, i.dtype]));
  const unmergeable = (name: string) => {
    const dtype = dtypes.get(name);
    return dtype !== undefined && !isMergeableDType(dtype);
  };
  if (!spec.tensors.some((t) => t.merge && unmergeable(t.name))) return spec;
  return {
    ...spec,
    tensors: spec.tensors.map((t) => (t.merge && unmergeable(t.name) ? { ...t, merge: false } : t)),
  };
}

/** The scale tensors of each scaled weight of a model's source, worked out once per source. */
const scalesBySource = new WeakMap<TensorSource, ReadonlyMap<string, readonly string[]>>();

function scalesOf(source: TensorSource): ReadonlyMap<string, readonly string[]> {
  let scales = scalesBySource.get(source);
  if (scales === undefined) {
    const byWeight = new Map<string, string[]>();
    const infos = source.tensorNames().map((n) => source.info(n));
    for (const [scale, weight] of quantisationScales(infos)) {
      byWeight.set(weight, [...(byWeight.get(weight) ?? []), scale]);
    }
    scales = byWeight;
    scalesBySource.set(source, scales);
  }
  return scales;
}

/**
 * Reads tensors as float32, refusing NaN and ±Inf (weights that are not finite are reported, never merged) and
 * quantised weights whose values need scales (their codes alone would be merged as if they were the weights).
 */
export async function readFiniteFloatTensor(model: LoadedModel, name: string): Promise<FloatTensor> {
  const scales = scalesOf(model.source).get(name);
  if (scales !== undefined)
    throw new QuantisedWeightError(model.path, name, model.source.info(name).dtype, scales);
  const raw = await model.source.read(name);
  const file = tensorFile(model.source, name);
  const data = toFloat32(raw, { file, tensor: name });
  const checked = finiteBySource.get(model.source) ?? new Set<string>();
  if (!checked.has(name)) {
    const bad = firstNonFinite(data);
    if (bad >= 0) throw new NonFiniteWeightsError(file, name, bad, data[bad]);
    checked.add(name);
    finiteBySource.set(model.source, checked);
  }
  return { shape: raw.shape, data };
}

/**
 * Tensors of an open source already found finite. Streamed alignment reads a tensor again at every step that
 * needs it (a deep model's do not fit in memory), and scanning it each time cost ~5 % of an alignment.
 */
const finiteBySource = new WeakMap<TensorSource, Set<string>>();

export async function readFiniteFloatTensors(
  model: LoadedModel,
  names: Iterable<string>,
): Promise<Map<string, FloatTensor>> {
  const out = new Map<string, FloatTensor>();
  for (const name of names) out.set(name, await readFiniteFloatTensor(model, name));
  return out;
}
