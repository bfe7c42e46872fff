import type { LoadedModel } from '../model/load-model.js';
import { readFiniteFloatTensor } from '../model/load-model.js';
import { ByteLruCache } from '../store/byte-lru-cache.js';
import type { FloatTensor } from '../tensor/tensor.js';
import type { AlignmentPlan, AlignmentProblem, TensorPairing } from './alignment-problem.js';

/**
 * Where alignment gets the float32 tensors of its pairs. Held in memory (an AlignmentProblem), or read from the
 * model files on demand so that a model larger than memory aligns: then a caller keeps a tensor only while it
 * uses it, and `arrays` bounds what is kept between uses (tensors and the unfolded slices made from them).
 */
/** The names of a pair's two tensors: all a loader needs. */
export type PairNames = Pick<TensorPairing, 'baseName' | 'targetName'>;

export interface PairedTensors {
  /** The shapes of the pair's tensors, known without reading them. */
  shapes(pair: PairNames): { readonly base: readonly number[]; readonly target: readonly number[] };
  base(pair: PairNames): Promise<FloatTensor>;
  target(pair: PairNames): Promise<FloatTensor>;
  /** Derived arrays (an unfolded base slice) by key, within the same bound as the tensors. */
  derived(key: string, bytes: number, make: () => Promise<Float32Array>): Promise<Float32Array>;
}

/** An alignment plan with a way to its tensors: what weight matching runs on. */
export interface SourcedAlignment extends AlignmentPlan {
  readonly tensors: PairedTensors;
}

/** Tensors already in memory: nothing is read, and derived arrays are kept for the whole alignment. */
export function inMemoryAlignment(problem: AlignmentProblem): SourcedAlignment {
  const pairs = new Map(problem.pairs.map((p) => [p.baseName, p]));
  const derived = new Map<string, Promise<Float32Array>>();
  const find = (pairing: PairNames) => {
    const pair = pairs.get(pairing.baseName);
    if (pair === undefined) throw new RangeError(`no tensors for pair '${pairing.baseName}'`);
    return pair;
  };
  return {
    pairs: problem.pairs,
    spaces: problem.spaces,
    tensors: {
      shapes: (p) => ({ base: find(p).base.shape, target: find(p).target.shape }),
      base: async (p) => find(p).base,
      target: async (p) => find(p).target,
      derived: (key, _bytes, make) => {
        let value = derived.get(key);
        if (value === undefined) {
          value = make();
          derived.set(key, value);
        }
        return value;
      },
    },
  };
}

/** Bytes of a tensor of `shape` once read as float32. */
export function float32Bytes(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1) * Float32Array.BYTES_PER_ELEMENT;
}

/**
 * Tensors read from the two models' files when asked for (range reads; bf16, f16 and the rest converted as they
 * arrive), with at most `cacheBytes` of tensors and derived arrays kept between uses, least recently used first
 * out. An array larger than the whole budget is never kept.
 */
export class StreamedPairedTensors implements PairedTensors {
  private readonly cache: ByteLruCache<Float32Array | FloatTensor>;
  /** Tensors read from the files (cache misses included), for progress and tests. */
  reads = 0;

  constructor(
    private readonly baseModel: LoadedModel,
    private readonly targetModel: LoadedModel,
    private readonly cacheBytes: number,
  ) {
    this.cache = new ByteLruCache(cacheBytes, (v) =>
      v instanceof Float32Array ? v.byteLength : v.data.byteLength,
    );
  }

  shapes(pair: PairNames): { base: readonly number[]; target: readonly number[] } {
    return {
      base: this.baseModel.source.info(pair.baseName).shape,
      target: this.targetModel.source.info(pair.targetName).shape,
    };
  }

  base(pair: PairNames): Promise<FloatTensor> {
    return this.tensor(this.baseModel, 'base', pair.baseName);
  }

  target(pair: PairNames): Promise<FloatTensor> {
    return this.tensor(this.targetModel, 'target', pair.targetName);
  }

  async derived(key: string, bytes: number, make: () => Promise<Float32Array>): Promise<Float32Array> {
    if (bytes > this.cacheBytes) return make();
    return (await this.cache.get(`derived:${key}`, make)) as Float32Array;
  }

  /** Bytes kept now between uses. */
  get heldBytes(): number {
    return this.cache.heldBytes;
  }

  private async tensor(model: LoadedModel, side: string, name: string): Promise<FloatTensor> {
    const read = () => {
      this.reads++;
      return readFiniteFloatTensor(model, name);
    };
    if (float32Bytes(model.source.info(name).shape) > this.cacheBytes) return read();
    return (await this.cache.get(`${side}:${name}`, read)) as FloatTensor;
  }
}
