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
  type NatsConnection,
} from 'nats';
import type { Piscina } from 'piscina';
import type { MapsDocumentSpace } from '../src/align/maps-file.js';
import type { BackendName } from '../src/compute/backend.js';
import { packTensors } from '../src/engine/packed-tensors.js';
import type { ThreadOutcome, ThreadTask } from '../src/engine/task-thread.js';
import { createTaskThreadPool } from '../src/engine/task-thread-pool.js';
import { MalError, UsageError } from '../src/errors.js';
import { isTransformerFamily } from '../src/eval/transformer-settings.js';
import type { ArchitectureSpec } from '../src/spec/architecture-spec.js';
import { ByteLruCache } from '../src/store/byte-lru-cache.js';
import { sha256 } from '../src/store/content-store.js';
import type { FloatTensor } from '../src/tensor/tensor.js';
import { describeServers } from './nats/connection-options.js';
import { decodeOccurrence, encodeProduct } from './nats/cost-product-wire.js';
import { DatasetCache } from './nats/dataset-cache.js';
import { ExamplesCache } from './nats/examples-cache.js';
import {
  DEFAULT_DATA_CACHE_BYTES,
  DEFAULT_STOP_GRACE_MS,
  DEFAULT_TASK_DEADLINE_MS,
} from './nats/nats-defaults.js';
import { BadTaskError, NatsUnavailableError, TaskDeadlineError } from './nats/nats-errors.js';
import { checkOccurrenceFits } from './nats/occurrence-fit.js';
import { NatsResultStore, type RecordOutcome } from './nats/result-store.js';
import { type StudyCellTaskOutcome, StudyCellWorker } from './nats/study-cell-worker.js';
import {
  ensurePoolConsumer,
  ensureTaskStream,
  type PoolConsumerSettings,
  poolConsumerName,
  TASK_STREAM,
} from './nats/task-infrastructure.js';
import type {
  CostProductOutput,
  EvaluationBatch,
  TaskInput,
  TaskResultRecord,
  TensorRef,
} from './nats/task-messages.js';
import { decodeTaskMessage, type ValidCostProductTask, type ValidTask } from './nats/task-schema.js';
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
  /** Most bytes of loaded data sets, and apart from them of statistics examples, kept between tasks. */
  readonly dataCacheBytes?: number;
  /** One deadline for every task kind, in ms; unset: DEFAULT_TASK_DEADLINE_MS by kind. */
  readonly taskDeadlineMs?: number;
  /** After stop(), how long running tasks may finish before they are abandoned to redelivery. */
  readonly stopGraceMs?: number;
  readonly log: (line: string) => void;
}

export interface RunningTaskWorker {
  readonly id: string;
  /**
   * Stops pulling, lets running tasks finish and store their results for the stop grace, then abandons the rest
   * (their threads ended, their messages handed back for redelivery) and closes the connection.
   */
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
  const nc = await connectOrExplain(options.connection, `mal-worker ${options.pool} ${id}`);
  const js = nc.jetstream();
  const jsm = await nc.jetstreamManager();
  await ensureTaskStream(jsm);
  await ensurePoolConsumer(jsm, options.pool, options);
  const consumerInfo = await jsm.consumers.info(TASK_STREAM, poolConsumerName(options.pool));
  const ackWaitMs = millis(consumerInfo.config.ack_wait ?? 0) || options.ackWaitMs;
  const maxDeliver = consumerInfo.config.max_deliver ?? options.maxDeliver;
  const store = await NatsTensorStore.open(nc);
  const tensors = new TensorCache(store, options.cacheBytes);
  const dataCacheBytes = options.dataCacheBytes ?? DEFAULT_DATA_CACHE_BYTES;
  const examples = new ExamplesCache((hash, maxBytes) => store.getTensor(hash, maxBytes), dataCacheBytes);
  const results = await NatsResultStore.open(nc);
  const datasets = new DatasetCache(options.dataDir, dataCacheBytes, (hash, maxBytes) =>
    store.getTensor(hash, maxBytes),
  );
  const threads = createTaskThreadPool(options.concurrency);
  // Every thread readied before the first pull: started in parallel, one warm-up each.
  const warmStarted = performance.now();
  await Promise.all(
    Array.from({ length: options.concurrency }, () =>
      threads.run({ kind: 'warm', backend: options.backend }),
    ),
  );
  const warmMs = performance.now() - warmStarted;
  const consumer = await js.consumers.get(TASK_STREAM, poolConsumerName(options.pool));
  const abandon = new AbortController();
  const context: TaskContext = {
    options,
    id,
    ackWaitMs,
    maxDeliver,
    tensors,
    results,
    datasets,
    examples,
    maps: new ByteLruCache(dataCacheBytes / 4, (doc) => JSON.stringify(doc).length),
    store,
    threads,
    studyCells: new StudyCellWorker(options.concurrency),
    abandon: abandon.signal,
  };

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
      const grace = setTimeout(() => abandon.abort(), options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS);
      await loop;
      clearTimeout(grace);
      await threads.destroy();
      await context.studyCells.destroy();
      await nc.drain();
    })();
    return closed;
  };
  const done = Promise.race([loop, nc.closed().then(() => undefined)]).then(() => stop());
  options.log(
    `worker ${id}: pool '${options.pool}', ${options.concurrency} thread(s) readied in ${warmMs.toFixed(0)} ms, backend ${options.backend}, ack wait ${ackWaitMs} ms, max deliver ${maxDeliver}, NATS ${nc.getServer()}`,
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
  readonly examples: ExamplesCache;
  /** Curve tasks' maps by hash: a candidate's probes and its λ grid share them. */
  readonly maps: ByteLruCache<Record<string, MapsDocumentSpace>>;
  readonly store: NatsTensorStore;
  readonly threads: Piscina<ThreadTask, ThreadOutcome>;
  readonly studyCells: StudyCellWorker;
  /** Aborted when a stopping worker's grace is over: running tasks are left for redelivery. */
  readonly abandon: AbortSignal;
}

/** Why a task's run was cut short. */
type Cut = { readonly why: 'deadline'; readonly ms: number } | { readonly why: 'abandon' };

class CutShort extends Error {
  constructor(readonly cut: Cut) {
    super(cut.why);
  }
}

function deadlineOf(kind: TaskInput['kind'], options: TaskWorkerOptions): number {
  return options.taskDeadlineMs ?? DEFAULT_TASK_DEADLINE_MS[kind];
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
  // In-progress acks keep a long task from being handed to a second worker while this one is still on it; they
  // stop with the task, at its deadline at the latest.
  const ticker = setInterval(() => msg.working(), Math.max(200, Math.floor(context.ackWaitMs / 3)));
  const cut = new AbortController();
  let deadline: NodeJS.Timeout | undefined;
  const onAbandon = (): void => cut.abort(new CutShort({ why: 'abandon' }));
  if (context.abandon.aborted) onAbandon();
  else context.abandon.addEventListener('abort', onAbandon, { once: true });
  try {
    const envelope = decodeTaskMessage(msg.data);
    key = envelope.key;
    kind = envelope.task.kind;
    if (await context.results.has(key)) {
      // Stored by an earlier delivery whose ack was lost, or failed for good: nothing to do again.
      msg.ack();
      log(kind, key, 'already done');
      return;
    }
    const task = envelope.task;
    const backend = backendNeeded(task);
    if (backend !== undefined && backend !== options.backend) {
      const reason = `needs backend ${backend}, this worker runs ${options.backend}; route it to a pool whose workers run ${backend}`;
      if (delivery >= context.maxDeliver) {
        await storeWithRetry(context, key, failure(kind, 'BackendMismatch', reason, id));
        msg.term();
      } else {
        msg.nak(1000);
      }
      log(kind, key, reason);
      return;
    }
    const ms = deadlineOf(task.kind, options);
    deadline = setTimeout(() => cut.abort(new CutShort({ why: 'deadline', ms })), ms);
    const outcome = await untilCut<ThreadOutcome | StudyCellTaskOutcome>(
      cut.signal,
      task.kind === 'study-cell'
        ? context.studyCells.run(
            task,
            {
              fetchTensors: (refs) => fetchTensors(refs, context, key),
              dataset: (batch) => context.datasets.get(batch),
              tensorBytes: context.options.cacheBytes,
            },
            cut.signal,
          )
        : (async (): Promise<ThreadOutcome> => {
            const prepared = await prepareThreadTask(task, context, key);
            cut.signal.throwIfAborted();
            return context.threads.run(prepared.task, {
              transferList: prepared.transfer,
              signal: cut.signal,
            });
          })(),
    );
    if (outcome.ok) {
      const stored = await storeWithRetry(context, key, {
        ok: true,
        kind,
        output:
          'product' in outcome.output
            ? await storedProduct(task as ValidCostProductTask, outcome.output.product, context)
            : outcome.output,
        worker: id,
      });
      msg.ack();
      log(kind, key, stored === 'kept' ? 'done (an earlier result was kept)' : 'done');
      return;
    }
    if (outcome.permanent) {
      await storeWithRetry(context, key, failure(kind, outcome.name, outcome.message, id));
      msg.term();
      log(kind, key, `failed for good: ${outcome.name}: ${outcome.message}`);
      return;
    }
    throw Object.assign(new Error(outcome.message), { name: outcome.name });
  } catch (caught) {
    const reason: unknown = cut.signal.aborted ? cut.signal.reason : caught;
    if (reason instanceof CutShort && reason.cut.why === 'abandon') {
      // The worker is stopping: the thread is ended, and the task goes back to the queue for another worker.
      msg.nak();
      log(kind, key, 'abandoned as the worker stops; left for redelivery');
      return;
    }
    const error =
      reason instanceof CutShort && reason.cut.why === 'deadline'
        ? new TaskDeadlineError(
            `task ${key} (${kind}) ran past its deadline of ${(reason.cut.ms / 1000).toFixed(0)} s; its thread was ended`,
          )
        : caught;
    clearInterval(ticker);
    const e = error instanceof Error ? error : new Error(String(error));
    // Only a key that is the hash of its task is ever written to: see decodeTaskMessage.
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
    clearTimeout(deadline);
    context.abandon.removeEventListener('abort', onAbandon);
  }
}

/** The backend a task's numbers must come from: evaluations', and activation statistics' of an alignment. */
function backendNeeded(task: ValidTask): string | undefined {
  if (task.kind === 'evaluate') return task.backend;
  if (task.kind === 'align') return task.statistics?.backend;
  if (task.kind === 'study-cell') return task.cell.backend;
  if (task.kind === 'curve') return task.backend;
  // A cost product runs on the worker's matmul engine, not a TensorFlow.js backend.
  return undefined;
}

/** The work's result, or the abort's reason as soon as the signal fires (the work is left to settle unseen). */
function untilCut<T>(signal: AbortSignal, work: Promise<T>): Promise<T> {
  work.catch(() => undefined);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
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
async function storeWithRetry(
  context: TaskContext,
  key: string,
  record: TaskResultRecord,
): Promise<RecordOutcome> {
  let wait = 100;
  for (let attempt = 1; ; attempt++) {
    try {
      return await context.results.record(key, record);
    } catch (error) {
      if (attempt >= 12) throw error;
      await delay(wait);
      wait = Math.min(wait * 2, 5_000);
    }
  }
}

/**
 * A task's tensors, refused before they are packed when they would take more than this worker's tensor memory:
 * distinct names can still all point at one large blob, and packing copies each of them.
 */
async function fetchTensors(
  refs: readonly TensorRef[],
  context: TaskContext,
  key: string,
): Promise<[string, FloatTensor][]> {
  const tensors = await Promise.all(
    refs.map(async (r): Promise<[string, FloatTensor]> => [r.name, await context.tensors.get(r.hash)]),
  );
  const bytes = tensors.reduce((sum, [, t]) => sum + t.data.byteLength, 0);
  if (bytes > context.options.cacheBytes) {
    throw new BadTaskError(
      `task ${key}: its ${refs.length} tensor(s) take ${bytes} bytes, more than this worker's tensor memory (--cache-mb, ${context.options.cacheBytes} bytes)`,
      key,
    );
  }
  return tensors;
}

/**
 * Refuses data of the other kind than the model reads (token sequences for a language model, else examples), before
 * anything is fetched: a fetch started beside a refusal would fail later with nobody waiting on it.
 */
function checkBatchKind(batch: EvaluationBatch, spec: ArchitectureSpec, key: string): void {
  const tokens = 'text' in batch;
  if (tokens !== isTransformerFamily(spec.family)) {
    throw new BadTaskError(
      `task ${key}: a ${spec.family} model reads ${tokens ? 'labelled examples, not token sequences' : 'token sequences, not labelled examples'}`,
      key,
    );
  }
}

/**
 * Widths size the alignment's cost matrices, so the width of a space the sent tensors span may not exceed the
 * longest axis of those tensors (a space's width is the length, or a part of the length, of the axes it spans).
 * The other spaces' widths come along with the spec but size nothing here.
 */
function checkWidths(
  widths: readonly (readonly [string, number])[],
  spec: ArchitectureSpec,
  tensors: readonly [string, FloatTensor][],
  where: string,
): void {
  const longest = Math.max(0, ...tensors.flatMap(([, t]) => t.shape));
  const sent = new Set(tensors.map(([name]) => name));
  const spanned = new Set(
    spec.tensors
      .filter((t) => sent.has(t.name))
      .flatMap((t) => t.axes.flatMap((axis) => (axis ?? []).map((part) => part.space))),
  );
  const seen = new Set<string>();
  for (const [space, width] of widths) {
    if (seen.has(space)) throw new BadTaskError(`${where}: space '${space}' has two widths`);
    seen.add(space);
    if (spanned.has(space) && width > longest) {
      throw new BadTaskError(
        `${where}: space '${space}' has width ${width}, more than the longest axis (${longest}) of its tensors`,
      );
    }
  }
}

async function prepareThreadTask(
  task: Exclude<ValidTask, { kind: 'study-cell' }>,
  context: TaskContext,
  key: string,
): Promise<{ task: ThreadTask; transfer: ArrayBuffer[] }> {
  switch (task.kind) {
    case 'evaluate': {
      checkBatchKind(task.data, task.spec, key);
      const [tensors, dataset] = await Promise.all([
        fetchTensors(task.tensors, context, key),
        context.datasets.get(task.data),
      ]);
      const packed = packTensors(tensors);
      return {
        task: {
          kind: 'evaluate',
          backend: task.backend as BackendName,
          spec: task.spec,
          config: task.config,
          batchSize: task.batchSize ?? undefined,
          scoring: task.scoring,
          tensors: packed,
          dataset,
        },
        transfer: [packed.weights.buffer as ArrayBuffer],
      };
    }
    case 'align': {
      const [base, zoo, statistics] = await Promise.all([
        fetchTensors(task.base.tensors, context, key),
        fetchTensors(task.zoo.tensors, context, key),
        task.statistics === undefined
          ? undefined
          : context.examples.get(task.statistics.features, context.options.cacheBytes),
      ]);
      checkWidths(task.base.widths, task.base.spec, base, `task ${key} base`);
      checkWidths(task.zoo.widths, task.zoo.spec, zoo, `task ${key} zoo`);
      if (base.concat(zoo).reduce((sum, [, t]) => sum + t.data.byteLength, 0) > context.options.cacheBytes) {
        throw new BadTaskError(
          `task ${key}: its tensors take more than this worker's tensor memory (--cache-mb)`,
          key,
        );
      }
      const basePacked = packTensors(base);
      const zooPacked = packTensors(zoo);
      return {
        task: {
          kind: 'align',
          base: {
            spec: task.base.spec,
            widths: task.base.widths,
            tensors: basePacked,
            config: task.base.config,
          },
          zoo: { spec: task.zoo.spec, widths: task.zoo.widths, tensors: zooPacked, config: task.zoo.config },
          candidate: task.candidate,
          settings: task.settings,
          seed: task.seed,
          ...(task.statistics === undefined || statistics === undefined
            ? {}
            : { statistics: { backend: task.statistics.backend as BackendName, data: statistics } }),
        },
        transfer: [basePacked.weights.buffer as ArrayBuffer, zooPacked.weights.buffer as ArrayBuffer],
      };
    }
    case 'cost-product': {
      const where = `task ${key}`;
      const [occurrence, base, target] = await Promise.all([
        decodeOccurrence(task.occurrence, (hash) => context.store.getBytes(hash), where),
        context.tensors.get(task.base),
        context.tensors.get(task.target),
      ]);
      if (base.data.byteLength + target.data.byteLength > context.options.cacheBytes) {
        throw new BadTaskError(
          `${where}: its tensors take ${base.data.byteLength + target.data.byteLength} bytes, more than this worker's tensor memory (--cache-mb, ${context.options.cacheBytes} bytes)`,
          key,
        );
      }
      checkOccurrenceFits(occurrence, base.shape, target.shape, where);
      // The tensors are copied to the thread, not moved: the cache keeps them for the next products.
      return { task: { kind: 'cost-product', occurrence, base, target }, transfer: [] };
    }
    case 'noop': {
      const packed = packTensors(await fetchTensors(task.tensors, context, key));
      return { task: { kind: 'noop', tensors: packed }, transfer: [packed.weights.buffer as ArrayBuffer] };
    }
    case 'curve': {
      checkBatchKind(task.data, task.base.spec, key);
      const [base, zoo, maps, dataset, regmean] = await Promise.all([
        fetchTensors(task.base.tensors, context, key),
        fetchTensors(task.zoo.tensors, context, key),
        context.maps.get(task.maps, () => fetchMaps(task.maps, context, key)),
        context.datasets.get(task.data),
        task.regmean === undefined
          ? undefined
          : context.examples.get(task.regmean, context.options.cacheBytes),
      ]);
      checkWidths(task.base.widths, task.base.spec, base, `task ${key} base`);
      checkWidths(task.zoo.widths, task.zoo.spec, zoo, `task ${key} zoo`);
      const basePacked = packTensors(base);
      const zooPacked = packTensors(zoo);
      return {
        task: {
          kind: 'curve',
          backend: task.backend as BackendName,
          base: { spec: task.base.spec, widths: task.base.widths, tensors: basePacked },
          zoo: { spec: task.zoo.spec, widths: task.zoo.widths, tensors: zooPacked },
          candidate: task.candidate,
          maps,
          kernel: task.kernel,
          method: task.method,
          seed: task.seed,
          lambdas: task.lambdas,
          config: task.config,
          batchSize: task.batchSize ?? undefined,
          scoring: task.scoring,
          dataset,
          ...(regmean === undefined ? {} : { regmean }),
        },
        transfer: [basePacked.weights.buffer as ArrayBuffer, zooPacked.weights.buffer as ArrayBuffer],
      };
    }
  }
}

/** A cost product as its result holds it: inline when small, else its bytes in the result object store. */
function storedProduct(
  task: ValidCostProductTask,
  product: Float32Array | Float64Array,
  context: TaskContext,
): Promise<CostProductOutput> {
  return encodeProduct(product, task.occurrence.rows, task.occurrence.cols, (bytes) =>
    context.results.putOutputBytes(bytes),
  );
}

/**
 * A curve task's maps: a maps document's JSON stored by the dispatcher under its sha256. Its structure is checked
 * in the thread, as a maps file is, against the problem the task's models make.
 */
async function fetchMaps(
  hash: string,
  context: TaskContext,
  key: string,
): Promise<Record<string, MapsDocumentSpace>> {
  const bytes = await context.store.getBytes(hash);
  if (sha256(bytes) !== hash)
    throw new BadTaskError(`task ${key}: maps ${hash} do not hash to their name`, key);
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new BadTaskError(`task ${key}: maps ${hash} are not JSON: ${(error as Error).message}`, key);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new BadTaskError(`task ${key}: maps ${hash} are not a maps document's spaces`, key);
  }
  return doc as Record<string, MapsDocumentSpace>;
}

/**
 * Connects, or says in one line why not: an unreachable server is exit 69 (as for Temporal), a URL nats.js cannot
 * read is a usage error. Only the first connection is checked: later drops are reconnected for ever.
 */
async function connectOrExplain(connection: ConnectionOptions, name: string): Promise<NatsConnection> {
  const servers = describeServers(connection);
  try {
    return await connect({ ...connection, name });
  } catch (error) {
    const message = (error as Error).message ?? String(error);
    const code = (error as { code?: string }).code;
    if (error instanceof TypeError || /invalid url/i.test(message)) {
      throw new UsageError(`NATS server URL '${servers}' is not valid: ${message}`);
    }
    if (code === 'AUTHORIZATION_VIOLATION' || /authorization/i.test(message)) {
      throw new NatsUnavailableError(`NATS at ${servers} refused the credentials: ${message}`);
    }
    throw new NatsUnavailableError(`NATS at ${servers} cannot be reached: ${message}`);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
