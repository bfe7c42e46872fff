import type { Piscina } from 'piscina';
import type { BackendName } from '../compute/backend.js';
import type { Dataset } from '../data/dataset.js';
import type { TaskScoring } from '../eval/calibrated-evaluation.js';
import type { Evaluation } from '../eval/evaluate.js';
import type { ForwardConfig } from '../eval/forward.js';
import type { ArchitectureSpec } from '../spec/architecture-spec.js';
import type { FloatTensor } from '../tensor/tensor.js';
import { packTensors } from './packed-tensors.js';
import type { EvaluateOutput, ThreadOutcome, ThreadTask } from './task-thread.js';
import { createTaskThreadPool, outputOf } from './task-thread-pool.js';

export interface EvaluatorOptions {
  /** Most threads to use; 1 evaluates in this thread only. */
  readonly threads: number;
  /** `auto`: use threads only when the first evaluation's time says they pay off; `always`: whenever threads > 1. */
  readonly parallel: 'auto' | 'always';
  readonly backend: BackendName;
  readonly spec: ArchitectureSpec;
  readonly config: ForwardConfig;
  readonly batchSize: number;
  /** How thread tasks score a model; `evaluateInProcess` must score the same way. Default raw. */
  readonly scoring?: TaskScoring;
  readonly evaluateInProcess: (
    tensors: ReadonlyMap<string, FloatTensor>,
    dataset: Dataset,
  ) => Promise<Evaluation>;
  readonly onDone?: (done: number, total: number) => void;
}

export interface Evaluator {
  /** Threads the last evaluation used. */
  readonly threads: number;
  evaluateAll(models: readonly ReadonlyMap<string, FloatTensor>[], dataset: Dataset): Promise<Evaluation[]>;
  close(): Promise<void>;
}

/**
 * Evaluates several models on one data set, in parallel where that is faster: the points of an LMC curve are
 * independent, and each TensorFlow.js WebAssembly backend uses one core.
 */
export async function createEvaluator(options: EvaluatorOptions): Promise<Evaluator> {
  let pool: Piscina<ThreadTask, ThreadOutcome> | undefined;
  let threadsUsed = 1;
  const startPool = (): Piscina => {
    pool ??= createTaskThreadPool(options.threads);
    threadsUsed = options.threads;
    return pool;
  };
  return {
    get threads() {
      return threadsUsed;
    },
    async evaluateAll(models, dataset) {
      if (models.length === 0) return [];
      let done = 0;
      // The first model runs here and is timed: threads pay off only when the rest outlasts starting them.
      const started = performance.now();
      const first = await options.evaluateInProcess(models[0], dataset);
      options.onDone?.(++done, models.length);
      const seconds = (performance.now() - started) / 1000;
      const rest = models.slice(1);
      const parallel =
        options.threads > 1 &&
        rest.length > 0 &&
        (options.parallel === 'always' || worthThreads(seconds, rest.length, options.threads));
      if (!parallel) {
        const out = [first];
        for (const model of rest) {
          out.push(await options.evaluateInProcess(model, dataset));
          options.onDone?.(++done, models.length);
        }
        return out;
      }
      const workers = startPool();
      const shared = shareDataset(dataset);
      const others = await Promise.all(
        rest.map(async (model) => {
          const tensors = packTensors(model);
          const task: ThreadTask = {
            kind: 'evaluate',
            backend: options.backend,
            spec: options.spec,
            config: options.config,
            batchSize: options.batchSize,
            scoring: options.scoring ?? 'raw',
            tensors,
            dataset: shared,
          };
          const { loss, accuracy, count } = outputOf<EvaluateOutput>(
            await workers.run(task, { transferList: [tensors.weights.buffer as ArrayBuffer] }),
          );
          const result: Evaluation = { loss, accuracy, count };
          options.onDone?.(++done, models.length);
          return result;
        }),
      );
      return [first, ...others];
    },
    close: async () => {
      await pool?.destroy();
    },
  };
}

/** Seconds a worker thread takes to start and load its TensorFlow.js backend, measured on the dev machine. */
const THREAD_START_SECONDS = 1.2;

/** Whether `count` evaluations of `seconds` each finish sooner on `threads` fresh threads than here, one by one. */
export function worthThreads(seconds: number, count: number, threads: number): boolean {
  const serial = seconds * count;
  const parallel = THREAD_START_SECONDS + seconds * Math.ceil(count / threads);
  return parallel < 0.8 * serial;
}

/** Copies features and labels once into shared memory so no task copies the data set again. */
function shareDataset(dataset: Dataset): Dataset {
  const features = new Float32Array(new SharedArrayBuffer(dataset.features.byteLength));
  features.set(dataset.features);
  const labels = new Int32Array(new SharedArrayBuffer(dataset.labels.byteLength));
  labels.set(dataset.labels);
  return { ...dataset, features, labels };
}
