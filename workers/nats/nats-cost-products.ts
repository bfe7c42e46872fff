import { randomUUID } from 'node:crypto';
import type { CostProductRunner } from '../../src/align/cost-product-runner.js';
import type { OccurrenceProductTask } from '../../src/align/occurrence-product.js';
import type { PairedTensors } from '../../src/align/paired-tensors.js';
import { MalError } from '../../src/errors.js';
import type { FloatTensor } from '../../src/tensor/tensor.js';
import { ConcurrencyLimit } from './concurrency-limit.js';
import { decodeProduct, encodeOccurrence } from './cost-product-wire.js';
import { TaskFailedError } from './nats-errors.js';
import type { NatsTaskDispatcher } from './task-dispatcher.js';
import {
  type CostProductOutput,
  type CostProductTaskInput,
  type TaskInput,
  type TaskResultRecord,
  taskKey,
} from './task-messages.js';

export interface NatsCostProductsOptions {
  /** Product tasks in flight at once, ahead of the one the caller reads (default 16). */
  readonly window?: number;
  /** Tensors read and uploaded at once (default 4): each is held in memory while it uploads. */
  readonly uploadsAtOnce?: number;
}

const DEFAULT_WINDOW = 16;
const DEFAULT_UPLOADS_AT_ONCE = 4;

/** A tensor could not be read or uploaded for a product task; names the tensor and the occurrence. */
export class CostProductUploadError extends MalError {
  override readonly name = 'CostProductUploadError';
}

/**
 * Cost-matrix products on the NATS task workers (`mal worker`), as `cost-product` tasks. Each tensor a task needs
 * is read through the alignment's PairedTensors and uploaded once per alignment (the object store is
 * content-addressed, so a tensor another alignment uploaded is not sent again); the tasks of one `products()`
 * call run concurrently, at most `window` ahead of the one the caller reads, and come back in task order. A
 * product's result is removed from the result store once read: the next sweep's tasks differ.
 *
 * The maps equal the in-process alignment's bit for bit when the workers' matmul engine is the caller's
 * (`getMatmulEngine` picks by size the same way on the same platform); a GPU pool's products differ in the last
 * bits, as they would in process.
 */
export class NatsCostProducts implements CostProductRunner {
  private readonly uploaded = new Map<string, Promise<string>>();
  private readonly uploadLimit: ConcurrencyLimit;
  private readonly window: number;
  private readonly id = randomUUID();
  private sequence = 0;
  /** Tensors read from `tensors` and uploaded, by `base:<name>` / `target:<name>`: each once. */
  readonly uploads = new Map<string, number>();
  /** Product tasks whose results were read. */
  completed = 0;

  constructor(
    private readonly dispatcher: NatsTaskDispatcher,
    private readonly tensors: PairedTensors,
    options: NatsCostProductsOptions = {},
  ) {
    this.window = options.window ?? DEFAULT_WINDOW;
    this.uploadLimit = new ConcurrencyLimit(options.uploadsAtOnce ?? DEFAULT_UPLOADS_AT_ONCE);
  }

  async *products(tasks: readonly OccurrenceProductTask[]): AsyncIterable<Float32Array | Float64Array> {
    if (tasks.length === 0) return;
    const arrived = tasks.map(() => deferred<TaskResultRecord>());
    const slots = tasks.map(() => deferred<void>());
    const cancelled = new AbortController();
    const stopped = aborted(cancelled.signal);
    stopped.catch(() => undefined);
    for (let i = 0; i < Math.min(this.window, tasks.length); i++) slots[i].resolve();
    const inputs = tasks.map(async (task, i): Promise<TaskInput> => {
      await Promise.race([slots[i].promise, stopped]);
      return this.taskInput(task);
    });
    const keys = inputs.map((input) => input.then(taskKey));
    for (const key of keys) key.catch(() => undefined);
    const run = this.dispatcher.runAsReady(inputs, (i, record) => arrived[i].resolve(record));
    // Settled here so that an early return (the caller stopped reading) leaves no unhandled rejection.
    const failed = run.then(() => new Promise<never>(() => {}));
    failed.catch(() => undefined);
    const forgetting: Promise<void>[] = [];
    try {
      for (let i = 0; i < tasks.length; i++) {
        const task = tasks[i];
        const record = await Promise.race([arrived[i].promise, failed]);
        const key = await keys[i];
        const where = `cost product ${i + 1} of ${tasks.length} (occurrence ${task.key}: base ${task.baseName}, target ${task.targetName}; task ${key.slice(0, 12)})`;
        if (!record.ok)
          throw new TaskFailedError(key, record.error.name, `${where}: ${record.error.message}`);
        const output = record.output as CostProductOutput;
        const product = await decodeProduct(
          output,
          task.rows,
          task.cols,
          (hash) => this.dispatcher.results.getOutputBytes(hash),
          where,
        );
        forgetting.push(this.dispatcher.results.forget(key, output.blob?.sha256).catch(() => undefined));
        this.completed++;
        if (i + this.window < tasks.length) slots[i + this.window].resolve();
        yield product;
      }
    } finally {
      cancelled.abort();
      await Promise.all(forgetting);
    }
  }

  private async taskInput(task: OccurrenceProductTask): Promise<CostProductTaskInput> {
    const pair = { baseName: task.baseName, targetName: task.targetName };
    const [base, target, occurrence] = await Promise.all([
      this.upload('base', task.baseName, () => this.tensors.base(pair)),
      this.upload('target', task.targetName, () => this.tensors.target(pair)),
      encodeOccurrence(task, (bytes) => this.dispatcher.tensors.putBytes(bytes)),
    ]);
    return {
      kind: 'cost-product',
      occurrence,
      base,
      target,
      nonce: `${this.id}:${this.sequence++}`,
    };
  }

  /** The tensor's content address, reading and uploading it the first time it is asked for. */
  private upload(side: 'base' | 'target', name: string, read: () => Promise<FloatTensor>): Promise<string> {
    const id = `${side}:${name}`;
    let hash = this.uploaded.get(id);
    if (hash === undefined) {
      hash = this.uploadLimit.run(async () => {
        this.uploads.set(id, (this.uploads.get(id) ?? 0) + 1);
        try {
          return await this.dispatcher.tensors.putTensor(await read());
        } catch (error) {
          throw new CostProductUploadError(
            `the ${side} tensor '${name}' could not be sent to the task workers: ${(error as Error).message}`,
          );
        }
      });
      this.uploaded.set(id, hash);
      // A failed upload is tried again by the next task that needs the tensor.
      hash.catch(() => this.uploaded.delete(id));
    }
    return hash;
  }
}

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
}

function deferred<T>(): Deferred<T> {
  let resolve: (value: T) => void = () => {};
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    const fail = () => reject(new Error('the alignment stopped reading cost products'));
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
}
