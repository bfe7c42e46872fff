/**
 * Piscina task module: evaluates one model (one point of an LMC curve) on a data set shared with the main thread.
 * Each thread starts its own TensorFlow.js backend once.
 */
import { type BackendName, initBackend } from '../src/compute/backend.js';
import type { Dataset } from '../src/data/dataset.js';
import type { Evaluation } from '../src/eval/evaluate.js';
import type { ForwardConfig } from '../src/eval/forward.js';
import { evaluateTensors } from '../src/eval/model-evaluation.js';
import type { ArchitectureSpec } from '../src/spec/architecture-spec.js';
import type { FloatTensor } from '../src/tensor/tensor.js';

export interface EvaluateTask {
  readonly backend: BackendName;
  readonly spec: ArchitectureSpec;
  readonly config: ForwardConfig;
  readonly batchSize: number;
  /** Every tensor of the model, packed one after another into `weights` (transferred, not copied). */
  readonly tensors: readonly {
    readonly name: string;
    readonly shape: readonly number[];
    readonly offset: number;
  }[];
  readonly weights: Float32Array;
  /** Features and labels live in SharedArrayBuffers: every task reads the same memory. */
  readonly dataset: Dataset;
}

export default async function evaluateTask(task: EvaluateTask): Promise<Evaluation> {
  await initBackend(task.backend);
  const tensors = new Map<string, FloatTensor>();
  for (const t of task.tensors) {
    const size = t.shape.reduce((a, b) => a * b, 1);
    tensors.set(t.name, { shape: t.shape, data: task.weights.subarray(t.offset, t.offset + size) });
  }
  return evaluateTensors(tensors, task.spec, task.dataset, task.config, task.batchSize);
}
