import * as tf from '@tensorflow/tfjs-core';
import { type BackendName, initBackend } from '../../src/compute/backend.js';
import type { ArchitectureSpec } from '../../src/spec/architecture-spec.js';
import { deriveSpec } from '../../src/spec/derive-spec.js';
import type { SyntheticModel } from '../support/model-factory.js';

/** Backends the forward tests run on: the two that start on every machine, plus MAL_TEST_BACKENDS extras. */
export function testBackends(): BackendName[] {
  const extra = (process.env['MAL_TEST_BACKENDS'] ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  return [...new Set(['cpu', 'wasm', ...extra])] as BackendName[];
}

/** tfjs's own name for each backend: the native packages both register `tensorflow`. */
const TFJS_NAME: Record<BackendName, string> = {
  'tfjs-node-gpu': 'tensorflow',
  'tfjs-node': 'tensorflow',
  webgpu: 'webgpu',
  wasm: 'wasm',
  cpu: 'cpu',
};

/** Starts `name` and checks that tfjs really runs on it, so a test never passes on the wrong backend. */
export async function useBackend(name: BackendName): Promise<void> {
  const info = await initBackend(name);
  if (info.name !== name || tf.getBackend() !== TFJS_NAME[name]) {
    throw new Error(`asked for backend ${name}, tfjs runs on ${tf.getBackend()}`);
  }
}

export function specOf(model: SyntheticModel): ArchitectureSpec {
  const infos = [...model.tensors].map(([name, tensor]) => ({
    name,
    dtype: 'F32' as const,
    shape: tensor.shape,
  }));
  return deriveSpec(infos, { config: model.config });
}

/** Stacks float64 rows into one float32 input tensor of `shape` per row. */
export function batchOf(rows: readonly Float64Array[], shape: readonly number[]): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(rows.length * size);
  rows.forEach((row, index) => {
    data.set(row, index * size);
  });
  return tf.tensor(data, [rows.length, ...shape], 'float32');
}

/** The float64 reference's inputs rounded to float32, as the tfjs forward receives them. */
export function roundedToFloat32(rows: readonly Float64Array[]): Float64Array[] {
  return rows.map((row) => Float64Array.from(Float32Array.from(row)));
}

export function rowsOf(logits: tf.Tensor2D): Float64Array[] {
  const [n, classes] = logits.shape;
  const data = logits.dataSync();
  const rows: Float64Array[] = [];
  for (let i = 0; i < n; i++) rows.push(Float64Array.from(data.subarray(i * classes, (i + 1) * classes)));
  return rows;
}
