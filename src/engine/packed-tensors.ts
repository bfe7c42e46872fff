import type { FloatTensor } from '../tensor/tensor.js';

export interface PackedTensorEntry {
  readonly name: string;
  readonly shape: readonly number[];
  readonly offset: number;
}

/** Tensors laid one after another in one buffer, so a thread receives them as one transfer, not many copies. */
export interface PackedTensors {
  readonly entries: readonly PackedTensorEntry[];
  readonly weights: Float32Array;
}

export function packTensors(tensors: Iterable<readonly [string, FloatTensor]>): PackedTensors {
  const list = [...tensors];
  let total = 0;
  for (const [, t] of list) total += t.data.length;
  const weights = new Float32Array(total);
  const entries: PackedTensorEntry[] = [];
  let offset = 0;
  for (const [name, t] of list) {
    weights.set(t.data, offset);
    entries.push({ name, shape: t.shape, offset });
    offset += t.data.length;
  }
  return { entries, weights };
}

/** Views into the packed buffer, no copy. */
export function unpackTensors(packed: PackedTensors): Map<string, FloatTensor> {
  const tensors = new Map<string, FloatTensor>();
  for (const e of packed.entries) {
    const size = e.shape.reduce((a, b) => a * b, 1);
    tensors.set(e.name, { shape: e.shape, data: packed.weights.subarray(e.offset, e.offset + size) });
  }
  return tensors;
}
