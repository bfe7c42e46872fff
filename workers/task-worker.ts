/**
 * `mal worker`: pulls a pool's tasks from the JetStream work queue, fetches their tensors (once per process) and
 * data, runs them on a Piscina pool, stores each result under the task's key and only then acknowledges it.
 */
import { hostname } from 'node:os';
import {
  type ConnectionOptions,
  type Consumer,
  type ConsumerMessages,
  connect,
  type JsMsg,
  millis,
} from 'nats';
import type { Piscina } from 'piscina';
import type { BackendName } from '../src/compute/backend.js';
import { packTensors } from '../src/engine/packed-tensors.js';
import type { ThreadOutcome, ThreadTask } from '../src/engine/task-thread.js';
import { createTaskThreadPool } from '../src/engine/task-thread-pool.js';
import { MalError } from '../src/errors.js';
import type { FloatTensor } from '../src/tensor/tensor.js';
import { DatasetCache } from './nats/dataset-cache.js';
import { BadTaskError } from './nats/nats-errors.js';
import { NatsResultStore } from './nats/result-store.js';
import {
  ensurePoolConsumer,
  ensureTaskStream,
  type PoolConsumerSettings,
  poolConsumerName,
  TASK_STREAM,
} from './nats/task-infrastructure.js';
import {
  decodeEnvelope,
  type TaskInput,
  type TaskResultRecord,
  type TensorRef,
} from './nats/task-messages.js';
import { TensorCache } from './nats/tensor-cache.js';
import { NatsTensorStore } from './nats/tensor-store.js';

export interface TaskWorkerOptions extends PoolConsumerSettings {
  readonly connection: ConnectionOptions;
  readonly pool: string;
  /** Tasks run at once, one Piscina thread each. */
  readonly concurrency: number;
  /** The backend this worker's threads run (already resolved from `auto`). */
  readonly backend: BackendName;
  readonly dataDir?: string;
  /** Most bytes of fetched tensors kept. */
  readonly cacheBytes: number;
  readonly log: (line: string) => void;
}

export interface RunningTaskWorker {
  readonly id: string;
  /** Stops pulling, lets running tasks finish and store their results, then closes the connection. */
  stop(): Promise<void>;
  /** Settles when the worker has stopped (after stop(), or when its connection closed for good). */
  readonly done: Promise<void>;
}

// msg.term() carries no reason: nats-server 2.9 reads '+TERM <reason>' (a 2.10 feature) as no ack at all, and
// the task would sit out its ack wait and be redelivered. The reason is in the recorded result instead.

/** How long one pull waits for tasks before asking again; short so a stop or a reconnect is noticed soon. */
const FETCH_EXPIRES_MS = 2_000;

export async function startTaskWorker(options: TaskWorkerOptions): Promise<RunningTaskWorker> {
  const id = `${hostname()}:${process.pid}`;
  const nc = await connect({ ...options.connection, name: `mal-worker ${options.pool} ${id}` });
  const js = nc.jetstream();
  const jsm = await nc.jetstreamManager();
  await ensureTaskStream(jsm);
  await ensurePoolConsumer(jsm, options.pool, options);
  const consumerInfo = await jsm.consumers.info(TASK_STREAM, poolConsumerName(options.pool));
  const ackWaitMs = millis(consumerInfo.config.ack_wait ?? 0) || options.ackWaitMs;
  const maxDeliver = consumerInfo.config.max_deliver ?? options.maxDeliver;
  const tensors = new TensorCache(await NatsTensorStore.open(js), options.cacheBytes);
  const results = await NatsResultStore.open(js);
  const datasets = new DatasetCache(options.dataDir);
  const threads = createTaskThreadPool(options.concurrency);
  const consumer = await js.consumers.get(TASK_STREAM, poolConsumerName(options.pool));
  const context: TaskContext = { options, id, ackWaitMs, maxDeliver, tensors, results, datasets, threads };

  let stopping = false;
  let current: ConsumerMessages | undefined;
  const running = new Set<Promise<void>>();
  let slotFreed: () => void = () => {};

  const pullLoop = async (): Promise<void> => {
    while (!stopping) {
      if (running.size >= options.concurrency) {
        await new Promise<void>((resolve) => {
          slotFreed = resolve;
        });
        continue;
      }
      try {
        current = await fetchBatch(consumer, options.concurrency - running.size);
        for await (const msg of current) {
          if (stopping) {
            // Pulled after the stop began: give it straight back rather than make it wait out its ack wait.
            msg.nak();
            continue;
          }
          const task = handleMessage(msg, context).finally(() => {
            running.delete(task);
            slotFreed();
          });
          running.add(task);
        }
      } catch (error) {
        if (stopping) break;
        // Disconnected or the server restarting: the durable consumer survives, so pull again shortly.
        options.log(
          `worker ${id}: pulling from pool '${options.pool}' failed (${(error as Error).message}); retrying`,
        );
        await delay(500);
      }
    }
    await Promise.allSettled([...running]);
  };

  const loop = pullLoop();
  let closed: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    closed ??= (async () => {
      stopping = true;
      current?.stop();
      slotFreed();
      await loop;
      await threads.destroy();
      await nc.drain();
    })();
    return closed;
  };
  const done = Promise.race([loop, nc.closed().then(() => undefined)]).then(() => stop());
  options.log(
    `worker ${id}: pool '${options.pool}', ${options.concurrency} thread(s), backend ${options.backend}, ack wait ${ackWaitMs} ms, max deliver ${maxDeliver}, NATS ${nc.getServer()}`,
  );
  return { id, stop, done };
}

async function fetchBatch(consumer: Consumer, count: number): Promise<ConsumerMessages> {
  return consumer.fetch({ max_messages: count, expires: FETCH_EXPIRES_MS });
}

interface TaskContext {
  readonly options: TaskWorkerOptions;
  readonly id: string;
  readonly ackWaitMs: number;
  readonly maxDeliver: number;
  readonly tensors: TensorCache;
  readonly results: NatsResultStore;
  readonly datasets: DatasetCache;
  readonly threads: Piscina<ThreadTask, ThreadOutcome>;
}

async function handleMessage(msg: JsMsg, context: TaskContext): Promise<void> {
  const { options, id } = context;
  const started = performance.now();
  const delivery = msg.info.deliveryCount;
  const prefix = `worker ${id} pool ${options.pool} backend ${options.backend}`;
  const log = (kind: string, key: string, what: string): void =>
    options.log(
      `${prefix}: ${kind} ${key.slice(0, 12)} ${what} in ${(performance.now() - started).toFixed(0)} ms (delivery ${delivery})`,
    );
  let key = '?';
  let kind: TaskInput['kind'] | 'unknown' = 'unknown';
  // In-progress acks keep a long task from being handed to a second worker while this one is still on it.
  const ticker = setInterval(() => msg.working(), Math.max(200, Math.floor(context.ackWaitMs / 3)));
  try {
    const envelope = decodeEnvelope(msg.data);
    key = envelope.key;
    kind = envelope.task.kind;
    if ((await context.results.get(key)) !== undefined) {
      // Stored by an earlier delivery whose ack was lost: nothing to do again.
      msg.ack();
      log(kind, key, 'already done');
      return;
    }
    const task = envelope.task;
    if (task.kind === 'evaluate' && task.backend !== options.backend) {
      const reason = `needs backend ${task.backend}, this worker runs ${options.backend}; route it to a pool whose workers run ${task.backend}`;
      if (delivery >= context.maxDeliver) {
        await storeWithRetry(context, key, failure(kind, 'BackendMismatch', reason, id));
        msg.term();
      } else {
        msg.nak(1000);
      }
      log(kind, key, reason);
      return;
    }
    const prepared = await prepareThreadTask(task, context);
    const outcome: ThreadOutcome = await context.threads.run(prepared.task, {
      transferList: prepared.transfer,
    });
    if (outcome.ok) {
      await storeWithRetry(context, key, { ok: true, kind, output: outcome.output, worker: id });
      msg.ack();
      log(kind, key, 'done');
      return;
    }
    if (outcome.permanent) {
      await storeWithRetry(context, key, failure(kind, outcome.name, outcome.message, id));
      msg.term();
      log(kind, key, `failed for good: ${outcome.name}: ${outcome.message}`);
      return;
    }
    throw Object.assign(new Error(outcome.message), { name: outcome.name });
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    if (error instanceof BadTaskError && key === '?') key = error.key ?? '?';
    const permanent = error instanceof MalError;
    const lastTry = delivery >= context.maxDeliver;
    if ((permanent || lastTry) && key !== '?') {
      const message = permanent ? e.message : `${e.message} (gave up after ${delivery} deliveries)`;
      try {
        await storeWithRetry(context, key, failure(kind, e.name, message, id));
      } catch (storeError) {
        // Not stored: leave the task to be redelivered rather than lose its error.
        msg.nak(1000);
        log(kind, key, `could not record its error (${(storeError as Error).message}); left for redelivery`);
        return;
      }
    }
    if (permanent || lastTry) {
      msg.term();
      log(kind, key, `failed for good: ${e.name}: ${e.message}`);
    } else {
      msg.nak(1000);
      log(kind, key, `failed, will be redelivered: ${e.name}: ${e.message}`);
    }
  } finally {
    clearInterval(ticker);
  }
}

function failure(
  kind: TaskInput['kind'] | 'unknown',
  name: string,
  message: string,
  worker: string,
): TaskResultRecord {
  return { ok: false, kind, error: { name, message }, worker };
}

/** A result write that meets a server restart waits for the reconnect instead of wasting the task's work. */
async function storeWithRetry(context: TaskContext, key: string, record: TaskResultRecord): Promise<void> {
  let wait = 100;
  for (let attempt = 1; ; attempt++) {
    try {
      await context.results.put(key, record);
      return;
    } catch (error) {
      if (attempt >= 12) throw error;
      await delay(wait);
      wait = Math.min(wait * 2, 5_000);
    }
  }
}

async function fetchTensors(
  refs: readonly TensorRef[],
  cache: TensorCache,
): Promise<[string, FloatTensor][]> {
  return Promise.all(
    refs.map(async (r): Promise<[string, FloatTensor]> => [r.name, await cache.get(r.hash)]),
  );
}

async function prepareThreadTask(
  task: TaskInput,
  context: TaskContext,
): Promise<{ task: ThreadTask; transfer: ArrayBuffer[] }> {
  switch (task.kind) {
    case 'evaluate': {
      const [tensors, dataset] = await Promise.all([
        fetchTensors(task.tensors, context.tensors),
        context.datasets.get(task.data),
      ]);
      const packed = packTensors(tensors);
      return {
        task: {
          kind: 'evaluate',
          backend: task.backend,
          spec: task.spec,
          config: task.config,
          batchSize: task.batchSize ?? undefined,
          tensors: packed,
          dataset,
        },
        transfer: [packed.weights.buffer as ArrayBuffer],
      };
    }
    case 'align': {
      const [base, zoo] = await Promise.all([
        fetchTensors(task.base.tensors, context.tensors),
        fetchTensors(task.zoo.tensors, context.tensors),
      ]);
      const basePacked = packTensors(base);
      const zooPacked = packTensors(zoo);
      return {
        task: {
          kind: 'align',
          base: { spec: task.base.spec, widths: task.base.widths, tensors: basePacked },
          zoo: { spec: task.zoo.spec, widths: task.zoo.widths, tensors: zooPacked },
          candidate: task.candidate,
          settings: task.settings,
          seed: task.seed,
        },
        transfer: [basePacked.weights.buffer as ArrayBuffer, zooPacked.weights.buffer as ArrayBuffer],
      };
    }
    case 'noop': {
      const packed = packTensors(await fetchTensors(task.tensors, context.tensors));
      return { task: { kind: 'noop', tensors: packed }, transfer: [packed.weights.buffer as ArrayBuffer] };
    }
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
