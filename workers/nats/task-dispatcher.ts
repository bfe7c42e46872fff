import {
  type ConnectionOptions,
  connect,
  type JetStreamClient,
  type JetStreamManager,
  type KV,
  KvWatchInclude,
  type NatsConnection,
  NatsError,
} from 'nats';
import type { AlignmentProblem } from '../../src/align/alignment-problem.js';
import type { KernelPolicy } from '../../src/align/axis-index.js';
import { checkMapsFitPlan } from '../../src/align/check-maps.js';
import { parseMapsDocument, spaceMapsToDocument } from '../../src/align/maps-file.js';
import type { AlignmentSettings } from '../../src/assembly/assembly-plan.js';
import {
  type AlignedCandidate,
  type CandidateAlignment,
  candidateProblem,
  candidateTensorPairs,
  type ModelInMemory,
} from '../../src/assembly/candidate-alignment.js';
import type { Candidate } from '../../src/assembly/candidates.js';
import type { Evaluated, TaskResult } from '../../src/assembly/lineage.js';
import { objectiveOf } from '../../src/assembly/loop-policy.js';
import type { BackendName } from '../../src/compute/backend.js';
import type { Dataset } from '../../src/data/dataset.js';
import { MalError } from '../../src/errors.js';
import type { TaskScoring } from '../../src/eval/calibrated-evaluation.js';
import type { ForwardConfig } from '../../src/eval/forward.js';
import { exampleLayoutFor } from '../../src/eval/model-evaluation.js';
import { isTransformerFamily } from '../../src/eval/transformer-settings.js';
import type { MergeMethodChoice } from '../../src/merge/merge-method-registry.js';
import type { ArchitectureSpec } from '../../src/spec/architecture-spec.js';
import type { FloatTensor } from '../../src/tensor/tensor.js';
import { ConcurrencyLimit } from './concurrency-limit.js';
import { describeServers } from './connection-options.js';
import { DispatchTimeoutError, TaskFailedError } from './nats-errors.js';
import { NatsResultStore } from './result-store.js';
import {
  checkPoolName,
  DEFAULT_ACK_WAIT_MS,
  DEFAULT_MAX_DELIVER,
  ensurePoolConsumer,
  ensureTaskStream,
  poolConsumerName,
  TASK_STREAM,
  taskSubject,
} from './task-infrastructure.js';
import {
  type AlignModelInput,
  type AlignOutput,
  type CostProductOutput,
  type CurveOutput,
  type EvaluateOutput,
  type EvaluationBatch,
  encodeEnvelope,
  type StudyCellOutput,
  type TaskInput,
  type TaskOutput,
  type TaskResultRecord,
  type TensorRef,
  type TokenSequencesInput,
} from './task-messages.js';
import { NatsTensorStore } from './tensor-store.js';

export interface DispatcherOptions {
  readonly connection: ConnectionOptions;
  readonly pool: string;
  /** The backend evaluations must run on; the embedded engine's numbers are matched on the same backend. */
  readonly backend?: BackendName;
  /** Give up when no result has arrived for this long. */
  readonly timeoutMs?: number;
}

/**
 * An objective task as a plan names it: its data is loaded by the workers, not sent; a language model's token
 * sequences, which only this side can make (with the base's tokenizer), go by hash (`text`).
 */
export interface DispatchTask {
  readonly name: string;
  readonly data: string;
  readonly text?: TokenSequencesInput;
  readonly limit?: number;
  readonly metric: 'loss' | 'accuracy';
  readonly weight: number;
  /** How the task scores a model; default raw. */
  readonly scoring?: TaskScoring;
}

/** The first `limit` examples (all when undefined) of a task's data, as the base's family reads them. */
function evaluationBatch(
  spec: ArchitectureSpec,
  task: DispatchTask,
  limit: number | undefined,
): EvaluationBatch {
  const end = limit ?? null;
  if (!isTransformerFamily(spec.family))
    return { source: task.data, layout: exampleLayoutFor(spec), start: 0, end };
  if (task.text === undefined) {
    throw new RangeError(
      `objective task ${task.name}: a ${spec.family} model reads token sequences, and none were uploaded for it`,
    );
  }
  return { text: task.text, name: task.data, start: 0, end };
}

/** One candidate's merge to evaluate along λ: the candidate, its alignment, the λs. */
export interface CurveRequest {
  readonly candidate: Candidate;
  readonly aligned: AlignedCandidate;
  readonly lambdas: readonly number[];
}

/** How curve tasks merge: the plan's kernel policy, merge method and seed (no ancestor, no REPAIR). */
export interface CurveMerge {
  readonly kernel: KernelPolicy;
  readonly method: MergeMethodChoice;
  readonly seed: number;
  /** The examples RegMean measures its Gram matrices on, when the merges are solved by RegMean. */
  readonly regmean?: Dataset;
}

/** How long a dispatcher waits with no result before it gives up, unless told otherwise. */
export const DEFAULT_TIMEOUT_MS = 30 * 60_000;
/** Most λ points one curve task evaluates: an 11-point grid goes out as three tasks. */
const CURVE_POINTS_PER_TASK = 4;
/**
 * Tensor uploads (and task publishes) in flight at once: enough to hide round trips, few enough to bound the bytes
 * held for them.
 */
const UPLOADS_AT_ONCE = 16;
/** JetStream's error code for a stream message that is not there. */
const NO_MESSAGE_FOUND = 10037;
/** How often pending keys are read directly, in case a watch update was missed across a reconnect. */
const POLL_MS = 1_000;

/**
 * The client side of the worker pools: uploads tensors once (by content hash), publishes tasks that carry hashes
 * only, and waits for their results in the KV bucket. Tasks whose results already exist are not published again.
 */
export class NatsTaskDispatcher {
  private readonly hashes = new WeakMap<Float32Array, Promise<string>>();
  private readonly uploads = new ConcurrencyLimit(UPLOADS_AT_ONCE);
  private readonly publishes = new ConcurrencyLimit(UPLOADS_AT_ONCE);
  private readonly mapsUploaded = new WeakMap<AlignedCandidate, Promise<string>>();
  private readonly examplesUploaded = new WeakMap<Dataset, Promise<string>>();
  private readonly waiting = new Map<string, ((record: TaskResultRecord) => void)[]>();
  /** The stream sequence of each task this dispatcher published (or found already queued), for the advisories. */
  private readonly published = new Map<number, { key: string; kind: TaskInput['kind'] }>();
  private readonly sequenceOf = new Map<string, number>();
  private stopWatch: () => void = () => {};

  private constructor(
    readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    readonly tensors: NatsTensorStore,
    readonly results: NatsResultStore,
    readonly pool: string,
    readonly backend: BackendName,
    private readonly timeoutMs: number,
  ) {}

  static async connect(options: DispatcherOptions): Promise<NatsTaskDispatcher> {
    const pool = checkPoolName(options.pool);
    const nc = await connect({ ...options.connection, name: options.connection.name ?? 'mal dispatcher' });
    try {
      const jsm = await nc.jetstreamManager();
      await ensureTaskStream(jsm);
      // Tasks published before any worker of the pool started must wait in the queue, not vanish.
      await ensurePoolConsumer(
        jsm,
        pool,
        { ackWaitMs: DEFAULT_ACK_WAIT_MS, maxDeliver: DEFAULT_MAX_DELIVER },
        false,
      );
      const js = nc.jetstream();
      const dispatcher = new NatsTaskDispatcher(
        nc,
        js,
        jsm,
        await NatsTensorStore.open(nc),
        await NatsResultStore.open(nc),
        pool,
        options.backend ?? 'wasm',
        options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      );
      await dispatcher.watchResults();
      dispatcher.watchExhaustedDeliveries();
      return dispatcher;
    } catch (error) {
      await nc.close();
      throw error;
    }
  }

  /** Uploads a tensor unless this dispatcher already did (or is doing so); returns its hash. */
  /** A data set's examples (statistics for activation matching or RegMean) in the object store, once, by hash. */
  private uploadExamples(data: Dataset): Promise<string> {
    let hash = this.examplesUploaded.get(data);
    if (hash === undefined) {
      hash = this.uploadTensor(examplesTensor(data));
      this.examplesUploaded.set(data, hash);
    }
    return hash;
  }

  uploadTensor(tensor: FloatTensor): Promise<string> {
    const known = this.hashes.get(tensor.data);
    if (known !== undefined) return known;
    const hash = this.uploads.run(() => this.tensors.putTensor(tensor));
    this.hashes.set(tensor.data, hash);
    hash.catch(() => this.hashes.delete(tensor.data));
    return hash;
  }

  /** A language model's tokenized evaluation data as the workers read it: its token ids as one tensor, by hash. */
  async uploadTokenSequences(data: Dataset): Promise<TokenSequencesInput> {
    if (data.tokens === undefined) throw new RangeError(`${data.name}: the data holds no token sequences`);
    const tokens = await this.uploadTensor({
      shape: [data.count, ...data.exampleShape],
      data: data.features,
    });
    return { tokens, tokenizer: data.tokens.tokenizer, vocabulary: data.tokens.vocabulary };
  }

  /** Uploads several tensors at once: each upload is a few round trips, which in turn would add up. */
  uploadTensors(tensors: Iterable<readonly [string, FloatTensor]>): Promise<TensorRef[]> {
    return Promise.all([...tensors].map(async ([name, t]) => ({ name, hash: await this.uploadTensor(t) })));
  }

  /**
   * Runs tasks on the pool; results in task order, errors recorded by workers included. `onResult` sees each
   * result as it arrives (a study writes each row then); run settles after every call of it has.
   */
  async run(
    tasks: readonly TaskInput[],
    onResult?: (index: number, record: TaskResultRecord) => Promise<void> | void,
  ): Promise<TaskResultRecord[]> {
    return (
      await this.runAsReady(
        tasks.map((t) => Promise.resolve(t)),
        onResult,
      )
    ).map((r) => r.record);
  }

  /**
   * Runs tasks whose inputs are still being made (their tensors uploading): each is published as soon as its input
   * is ready, so workers start on the first while the rest upload. Results in task order, with their keys; a
   * caller that streams (the cost products) reads each from `onResult` as it arrives.
   */
  async runAsReady(
    inputs: readonly Promise<TaskInput>[],
    onResult?: (index: number, record: TaskResultRecord) => Promise<void> | void,
  ): Promise<{ key: string; record: TaskResultRecord }[]> {
    const results = inputs.map(async (input, index) => {
      const task = await input;
      const envelope = encodeEnvelope(task);
      const record = this.resultOf(envelope.key);
      await this.publishes.run(() => this.publish(envelope, task.kind));
      const settled = await record;
      if (onResult !== undefined) await onResult(index, settled);
      return { key: envelope.key, record: settled };
    });
    return this.awaitAll(results, inputs.length);
  }

  private async publish(
    envelope: { key: string; bytes: Uint8Array },
    kind: TaskInput['kind'],
  ): Promise<void> {
    if (!this.waiting.has(envelope.key) || this.sequenceOf.has(envelope.key)) return;
    if (await this.results.has(envelope.key)) {
      // Stored before this run asked (an earlier run, or a retried step): read it rather than run it again.
      const record = await this.results.get(envelope.key);
      if (record !== undefined) this.settle(envelope.key, record);
      return;
    }
    // msgID lets JetStream drop a second publish of the same task within its duplicate window; the
    // acknowledgement then names the queued copy's sequence, which is the one the advisories name.
    let ack = await this.js.publish(taskSubject(this.pool), envelope.bytes, { msgID: envelope.key });
    while (ack.duplicate && !(await this.isQueued(ack.seq))) {
      // The copy JetStream remembers was consumed, yet its result was not there a moment ago (an operator purged
      // the results): waiting on that copy would wait for nothing, so the task goes out again. Its id names the
      // consumed copy, so dispatchers that find the same copy gone publish one task between them, not one each.
      const record = await this.results.get(envelope.key);
      if (record !== undefined) {
        this.settle(envelope.key, record);
        return;
      }
      ack = await this.js.publish(taskSubject(this.pool), envelope.bytes, {
        msgID: `${envelope.key}@${ack.seq}`,
      });
    }
    this.published.set(ack.seq, { key: envelope.key, kind });
    this.sequenceOf.set(envelope.key, ack.seq);
  }

  /**
   * Whether the task queue still holds message `seq` (a work queue drops a task once a worker acknowledged it).
   * When the lookup itself fails (a server whose permissions predate it), the copy is taken as queued: the
   * dispatcher then waits on it, as it always did.
   */
  private async isQueued(seq: number): Promise<boolean> {
    try {
      await this.jsm.streams.getMessage(TASK_STREAM, { seq });
      return true;
    } catch (error) {
      return !(error instanceof NatsError && error.api_error?.err_code === NO_MESSAGE_FOUND);
    }
  }

  /**
   * Evaluates every model on every task, one dispatched task per (model, task), and sums the objective as the
   * embedded engine does. Throws TaskFailedError when a worker recorded an error.
   */
  async evaluateMany(
    models: readonly ReadonlyMap<string, FloatTensor>[],
    spec: ArchitectureSpec,
    config: ForwardConfig,
    tasks: readonly DispatchTask[],
  ): Promise<Evaluated[]> {
    const inputs = models.flatMap((model) => {
      const refs = this.uploadTensors(model);
      return tasks.map(
        async (t): Promise<TaskInput> => ({
          kind: 'evaluate',
          backend: this.backend,
          spec: spec,
          config,
          batchSize: null,
          scoring: t.scoring ?? 'raw',
          tensors: await refs,
          data: evaluationBatch(spec, t, t.limit),
        }),
      );
    });
    const records = await this.runAsReady(inputs);
    return models.map((_, m) => {
      const results: TaskResult[] = tasks.map((t, i) => {
        const { key, record } = records[m * tasks.length + i];
        const output = outputOf(record, key) as EvaluateOutput;
        return { name: t.name, loss: output.loss, accuracy: output.accuracy };
      });
      return { objective: objectiveOf(tasks, results), tasks: results };
    });
  }

  /**
   * Evaluates candidates' merges along λ on the pool, each merge built on a worker: one task per (candidate,
   * objective task) carrying the λs, the base's and the zoo's tensors by hash (sent once) and the maps by hash.
   * The objective is summed per λ as evaluateMany does. `examples`: only the first examples of each task (the
   * ranking's probes). Throws TaskFailedError when a worker recorded an error.
   */
  async evaluateCurves(
    base: ModelInMemory,
    zooModel: (id: string) => ModelInMemory | Promise<ModelInMemory>,
    requests: readonly CurveRequest[],
    merge: CurveMerge,
    tasks: readonly DispatchTask[],
    examples?: number,
  ): Promise<Evaluated[][]> {
    const baseSide = this.uploadTensors(base.tensors).then(
      (tensors): AlignModelInput => ({ spec: base.spec, widths: [...base.widths], tensors }),
    );
    const regmean = merge.regmean === undefined ? undefined : this.uploadExamples(merge.regmean);
    // A candidate's λ grid in a few tasks rather than one, so a step's last candidates still keep every worker busy.
    const chunks = requests.map((request) => chunksOf(request.lambdas, CURVE_POINTS_PER_TASK));
    const inputs = requests.flatMap((request, r) => {
      const side = (async () => {
        const zoo = await zooModel(request.candidate.model);
        const paired = new Set(request.aligned.problem.pairs.map((p) => p.targetName));
        const zooSide: AlignModelInput = {
          spec: zoo.spec,
          widths: [...zoo.widths],
          tensors: await this.uploadTensors([...zoo.tensors].filter(([name]) => paired.has(name))),
        };
        const maps = await this.uploadMaps(request.aligned);
        return { zoo: zooSide, maps, base: await baseSide };
      })();
      return chunks[r].flatMap((lambdas) =>
        tasks.map(async (t): Promise<TaskInput> => {
          const { zoo, maps, base: baseInput } = await side;
          const limit = examples === undefined ? t.limit : Math.min(t.limit ?? examples, examples);
          return {
            kind: 'curve',
            backend: this.backend,
            base: baseInput,
            zoo,
            candidate: {
              model: request.candidate.model,
              layers: request.candidate.layers,
              baseLayers: request.candidate.baseLayers,
            },
            maps,
            kernel: merge.kernel,
            method: merge.method,
            seed: merge.seed,
            lambdas,
            config: base.config ?? {},
            batchSize: null,
            scoring: t.scoring ?? 'raw',
            data: evaluationBatch(base.spec, t, limit),
            ...(regmean === undefined ? {} : { regmean: await regmean }),
          };
        }),
      );
    });
    const records = await this.runAsReady(inputs);
    let next = 0;
    return chunks.map((requestChunks) =>
      requestChunks.flatMap((lambdas) => {
        const first = next;
        next += tasks.length;
        return lambdas.map((_, l) => {
          const results: TaskResult[] = tasks.map((t, i) => {
            const { key, record } = records[first + i];
            const point = (outputOf(record, key) as CurveOutput).points[l];
            return { name: t.name, loss: point.loss, accuracy: point.accuracy };
          });
          return { objective: objectiveOf(tasks, results), tasks: results };
        });
      }),
    );
  }

  /** A candidate's maps as a maps document's JSON in the object store (once per maps), by hash. */
  private uploadMaps(aligned: AlignedCandidate): Promise<string> {
    let hash = this.mapsUploaded.get(aligned);
    if (hash === undefined) {
      const bytes = new TextEncoder().encode(JSON.stringify(spaceMapsToDocument(aligned.maps.values())));
      hash = this.uploads.run(() => this.tensors.putBytes(bytes));
      this.mapsUploaded.set(aligned, hash);
    }
    return hash;
  }

  /**
   * Aligns every candidate on the pool; a candidate that cannot be aligned comes back with its reason. Activation
   * matching runs both models on `statistics`, which travel once, by hash, with every task; without them its
   * tasks fail as alignment in this process would.
   */
  async alignCandidates(
    base: ModelInMemory,
    zooModel: (id: string) => ModelInMemory | Promise<ModelInMemory>,
    candidates: readonly Candidate[],
    settings: AlignmentSettings,
    seed: number,
    statistics?: Dataset,
  ): Promise<CandidateAlignment[]> {
    const byActivations = settings.match === 'activations';
    const examples =
      byActivations && statistics !== undefined
        ? { backend: this.backend, features: await this.uploadExamples(statistics) }
        : undefined;
    const inputs: Promise<TaskInput>[] = [];
    const sides: { zoo: ModelInMemory; pairs: [string, string][]; task: number }[] = [];
    const out: CandidateAlignment[] = [];
    // Activation matching runs the whole model; weight matching reads only the transplanted units' tensors.
    const side = async (m: ModelInMemory, names: Set<string>): Promise<AlignModelInput> => ({
      spec: m.spec,
      widths: [...m.widths],
      tensors: await this.uploadTensors(
        byActivations ? m.tensors : [...m.tensors].filter(([name]) => names.has(name)),
      ),
      ...(byActivations ? { config: m.config ?? {} } : {}),
    });
    for (const candidate of candidates) {
      const zoo = await zooModel(candidate.model);
      let pairs: [string, string][];
      try {
        pairs = candidateTensorPairs(base, zoo, candidate);
      } catch (error) {
        // Layers that do not pair fail here exactly as they would on a worker: no task is sent.
        if (!(error instanceof MalError)) throw error;
        out.push({ candidate, error: error.message });
        continue;
      }
      sides.push({ zoo, pairs, task: out.length });
      out.push({ candidate });
      // Not awaited here: each task is published as soon as its tensors are up, while the next ones upload.
      inputs.push(
        (async (): Promise<TaskInput> => ({
          kind: 'align',
          base: await side(base, new Set(pairs.map(([b]) => b))),
          zoo: await side(zoo, new Set(pairs.map(([, z]) => z))),
          candidate: { model: candidate.model, layers: candidate.layers, baseLayers: candidate.baseLayers },
          settings,
          seed,
          ...(examples === undefined ? {} : { statistics: examples }),
        }))(),
      );
    }
    const records = await this.runAsReady(inputs);
    records.forEach(({ key, record }, i) => {
      const { zoo, pairs, task } = sides[i];
      const candidate = out[task].candidate;
      if (!record.ok) {
        out[task] = { candidate, error: record.error.message };
        return;
      }
      out[task] = {
        candidate,
        aligned: alignedCandidateOf(
          record.output as AlignOutput,
          candidateProblem(base, zoo, pairs),
          `the result of alignment task ${key}`,
        ),
      };
    });
    return out;
  }

  async close(): Promise<void> {
    this.stopWatch();
    await this.nc.drain();
  }

  private resultOf(key: string): Promise<TaskResultRecord> {
    return new Promise((resolve) => {
      const list = this.waiting.get(key);
      if (list === undefined) this.waiting.set(key, [resolve]);
      else list.push(resolve);
    });
  }

  private settle(key: string, record: TaskResultRecord): void {
    const list = this.waiting.get(key);
    if (list === undefined) return;
    this.waiting.delete(key);
    const seq = this.sequenceOf.get(key);
    this.sequenceOf.delete(key);
    if (seq !== undefined) this.published.delete(seq);
    for (const resolve of list) resolve(record);
  }

  private async watchResults(): Promise<void> {
    const kv: KV = this.results.kv;
    const watch = await kv.watch({ key: '>', include: KvWatchInclude.UpdatesOnly });
    this.stopWatch = () => watch.stop();
    void (async () => {
      try {
        for await (const entry of watch) {
          if (entry.operation === 'PUT' && this.waiting.has(entry.key))
            this.settle(entry.key, await this.results.read(entry.value));
        }
      } catch {
        // The poll below still finds every result.
      }
    })();
  }

  /**
   * A task whose last allowed delivery ended with no acknowledgement (its worker died or stalled past the ack
   * wait) is never delivered again and no worker records anything for it; JetStream says so in an advisory that
   * names the stream sequence. The task then fails here with an error naming it, rather than leave the run
   * waiting until its timeout, and its message leaves the queue. A result stored after all (a stalled worker
   * finishing late) still wins.
   */
  private watchExhaustedDeliveries(): void {
    const subject = `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${TASK_STREAM}.${poolConsumerName(this.pool)}`;
    const sub = this.nc.subscribe(subject);
    const stopResults = this.stopWatch;
    this.stopWatch = () => {
      stopResults();
      sub.unsubscribe();
    };
    void (async () => {
      for await (const m of sub) {
        const advisory = exhaustedDelivery(m.data);
        const task = advisory === undefined ? undefined : this.published.get(advisory.streamSeq);
        if (advisory === undefined || task === undefined || !this.waiting.has(task.key)) continue;
        const stored = await this.results.get(task.key).catch(() => undefined);
        // No consumer delivers the exhausted copy again, yet it stays in the work queue, and JetStream would drop
        // a rerun's publish as its duplicate for two minutes: removed, the task can run again at once.
        if (stored === undefined) {
          await this.jsm.streams.deleteMessage(TASK_STREAM, advisory.streamSeq, false).catch(() => undefined);
        }
        this.settle(
          task.key,
          stored ?? {
            ok: false,
            kind: task.kind,
            error: {
              name: 'DeliveriesExhaustedError',
              message: `task ${task.key} (${task.kind}) was delivered ${advisory.deliveries} time(s), its pool's limit (max deliver), and no worker finished it: each worker that took it died or stalled past the ack wait; check the workers' logs and memory limits on pool '${this.pool}', or raise 'mal worker --max-deliver'`,
            },
            worker: 'none',
          },
        );
      }
    })().catch(() => {
      // Not allowed to hear the advisories (a server configured before they were used): such a task then fails
      // at the dispatch timeout, as it did before; the rest of the dispatcher is unaffected.
    });
  }

  private async pollPending(): Promise<void> {
    for (const key of [...this.waiting.keys()]) {
      try {
        const record = await this.results.get(key);
        if (record !== undefined) this.settle(key, record);
      } catch {
        // Disconnected for the moment: the next poll tries again.
      }
    }
  }

  private async awaitAll<T>(promises: Promise<T>[], total: number): Promise<T[]> {
    let done = 0;
    let lastProgress = performance.now();
    for (const p of promises) {
      p.then(
        () => {
          done++;
          lastProgress = performance.now();
        },
        // A failed upload or publish: Promise.all below rejects with it.
        () => undefined,
      );
    }
    const all = Promise.all(promises);
    let finished = false;
    all.then(
      () => {
        finished = true;
      },
      () => {
        finished = true;
      },
    );
    while (!finished) {
      await Promise.race([all, delay(POLL_MS)]);
      if (finished) break;
      if (performance.now() - lastProgress > this.timeoutMs) {
        throw new DispatchTimeoutError(
          `${total - done} of ${total} task(s) on pool '${this.pool}' got no result within ${(this.timeoutMs / 1000).toFixed(0)} s of the last one; is a 'mal worker --pool ${this.pool}' running against ${describeServers({ servers: this.nc.getServer() })}? Tasks stay queued, so running the step again picks up their results.`,
        );
      }
      await this.pollPending();
    }
    return all;
  }
}

/**
 * A worker's alignment as this process uses it. The maps come from a peer on the bus, so they are checked exactly
 * as `mal merge --maps` checks a maps file: each a generalized permutation of its stated widths, and those widths
 * the problem's.
 */
export function alignedCandidateOf(
  output: AlignOutput,
  problem: AlignmentProblem,
  source: string,
): AlignedCandidate {
  const maps = parseMapsDocument(output, source);
  checkMapsFitPlan(problem, maps, source);
  return { problem, maps, preScore: output.preScore, mapHashes: { ...output.mapHashes } };
}

/** `items` in consecutive chunks of at most `size`, as evenly as that allows (11 by 4: 4, 4, 3). */
function chunksOf<T>(items: readonly T[], size: number): T[][] {
  const count = Math.ceil(items.length / size);
  const out: T[][] = [];
  for (let c = 0; c < count; c++) {
    out.push(
      items.slice(Math.floor((c * items.length) / count), Math.floor(((c + 1) * items.length) / count)),
    );
  }
  return out;
}

/** A data set's examples as one tensor `[count, ...exampleShape]` (labels are not sent: statistics do not read them). */
function examplesTensor(data: Dataset): FloatTensor {
  const size = data.exampleShape.reduce((a, b) => a * b, 1);
  return { shape: [data.count, ...data.exampleShape], data: data.features.subarray(0, data.count * size) };
}

/** The stream sequence and delivery count a max-deliveries advisory names; undefined for anything else. */
function exhaustedDelivery(bytes: Uint8Array): { streamSeq: number; deliveries: number } | undefined {
  try {
    const a = JSON.parse(new TextDecoder().decode(bytes)) as { stream_seq?: unknown; deliveries?: unknown };
    if (typeof a.stream_seq !== 'number') return undefined;
    return { streamSeq: a.stream_seq, deliveries: typeof a.deliveries === 'number' ? a.deliveries : 0 };
  } catch {
    return undefined;
  }
}

/** The task's output, or TaskFailedError with the error its worker recorded. */
export function outputOf(
  record: TaskResultRecord,
  key: string,
): TaskOutput | StudyCellOutput | CostProductOutput {
  if (!record.ok) throw new TaskFailedError(key, record.error.name, record.error.message);
  return record.output;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
