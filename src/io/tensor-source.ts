import type { DType } from '../tensor/dtype.js';
import type { RawTensor } from '../tensor/tensor.js';

export interface TensorInfo {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
}

/**
 * Read access to the named tensors of a model, one tensor at a time, so a model larger than memory can be
 * aligned and merged tensor by tensor. A single safetensors file and a sharded model both implement it.
 */
export interface TensorSource {
  /** The file or folder the tensors come from, for messages. */
  readonly path: string;
  /** `__metadata__` of the (first) file: string keys to string values. */
  readonly metadata: Readonly<Record<string, string>>;
  /** Tensor names in file order (shards in index order). */
  tensorNames(): readonly string[];
  info(name: string): TensorInfo;
  read(name: string): Promise<RawTensor>;
  close(): Promise<void>;
}
