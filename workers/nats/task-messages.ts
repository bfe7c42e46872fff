import type { KernelPolicy } from '../../src/align/axis-index.js';
import type { AlignmentSettings } from '../../src/assembly/assembly-plan.js';
import type { Candidate } from '../../src/assembly/candidates.js';
import type { BackendName } from '../../src/compute/backend.js';
import type { ExampleLayout } from '../../src/data/dataset.js';
import type { TaskOutput } from '../../src/engine/task-thread.js';
import type { TaskScoring } from '../../src/eval/calibrated-evaluation.js';
import type { ForwardConfig } from '../../src/eval/forward.js';
import type { MergeMethodChoice } from '../../src/merge/merge-method-registry.js';
import type { ArchitectureSpec } from '../../src/spec/architecture-spec.js';
import { canonicalJson, hashOf } from '../../src/store/content-store.js';
import type { StudyCell } from '../../src/study/study-cell.js';
import type { StudyModelInfo } from '../../src/study/study-row.js';
import { BadTaskError } from './nats-errors.js';
import type { TaskKind } from './task-kinds.js';
import { MAX_TASK_MESSAGE_BYTES } from './task-schema.js';

export type {
  AlignOutput,
  CurveOutput,
  EvaluateOutput,
  NoopOutput,
  TaskOutput,
} from '../../src/engine/task-thread.js';

/** A tensor by name in its model and by the sha256 of its Arrow IPC bytes in the object store. */
export interface TensorRef {
  readonly name: string;
  readonly hash: string;
}

/** Examples `[start, end)` of a data source, in the layout the model reads; `end` null: to the last. */
export interface DataBatch {
  readonly source: string;
  readonly layout: ExampleLayout;
  readonly start: number;
  readonly end: number | null;
}

/**
 * A language model's token sequences as the dispatcher tokenized them with the base folder's tokenizer (workers
 * see no model folders): a float32 tensor `[sequences, context + 1]` of ids, by hash.
 */
export interface TokenSequencesInput {
  readonly tokens: string;
  /** `bytes`, or the tokenizer.json file used (for messages). */
  readonly tokenizer: string;
  /** One more than the largest token id the tokenizer can produce. */
  readonly vocabulary: number;
}

/** Sequences `[start, end)` of a language model's tokens; `end` null: to the last. */
export interface TokenBatch {
  readonly text: TokenSequencesInput;
  /** The data they were read from (`fortunes:en:test`), for messages: the worker cannot read it. */
  readonly name: string;
  readonly start: number;
  readonly end: number | null;
}

/** What a model is evaluated on: labelled examples by source, or token sequences by hash. */
export type EvaluationBatch = DataBatch | TokenBatch;

/** One model on one batch of one data source → loss, accuracy, count. */
export interface EvaluateTaskInput {
  readonly kind: 'evaluate';
  /** The backend the numbers must come from: results differ in the last bits between backends. */
  readonly backend: BackendName;
  readonly spec: ArchitectureSpec;
  readonly config: ForwardConfig;
  readonly batchSize: number | null;
  /** raw, or calibrated on the batch's own examples before it is measured (a plan task's `scoring`). */
  readonly scoring: TaskScoring;
  readonly tensors: readonly TensorRef[];
  readonly data: EvaluationBatch;
}

/**
 * A model side of an alignment: only the tensors the transplanted units touch, or, for activation matching, every
 * tensor (the model is run) and the forward settings shapes cannot give.
 */
export interface AlignModelInput {
  readonly spec: ArchitectureSpec;
  readonly widths: readonly (readonly [string, number])[];
  readonly tensors: readonly TensorRef[];
  readonly config?: ForwardConfig;
}

/**
 * The unlabelled examples activation matching measures on, exactly those the step holds: one tensor
 * `[count, ...exampleShape]` in the object store (fetched once per worker, like the models' tensors), and the
 * backend the statistics must come from (they differ in the last bits between backends, and so could the maps).
 */
export interface StatisticsExamplesInput {
  readonly backend: BackendName;
  /** The sha256 of the examples tensor's Arrow IPC bytes. */
  readonly features: string;
}

/** One candidate: zoo units aligned to the base units they would replace → maps and the data-free pre-score. */
export interface AlignTaskInput {
  readonly kind: 'align';
  readonly base: AlignModelInput;
  readonly zoo: AlignModelInput;
  readonly candidate: Candidate;
  readonly settings: AlignmentSettings;
  readonly seed: number;
  /** Present when the settings match activations (and the step has examples). */
  readonly statistics?: StatisticsExamplesInput;
}

/** Does nothing but read its tensors: measures what the queue itself costs. */
export interface NoopTaskInput {
  readonly kind: 'noop';
  readonly tensors: readonly TensorRef[];
  /** Makes otherwise equal no-op tasks distinct, so each is run rather than answered from the results. */
  readonly nonce: string;
}

/**
 * One aligned candidate's merge at each λ, built on the worker and evaluated on one data batch: what the λ grid
 * and the ranking's probes need, without this process merging and uploading a model per λ. The maps travel as a
 * maps document's JSON in the object store, by hash.
 */
export interface CurveTaskInput {
  readonly kind: 'curve';
  readonly backend: BackendName;
  /** Every tensor of the base (the step's state), in its order: the merged model is the base with pairs replaced. */
  readonly base: AlignModelInput;
  /** The zoo model's tensors the candidate pairs. */
  readonly zoo: AlignModelInput;
  readonly candidate: Candidate;
  /** The sha256 of the maps document's JSON (spaceMapsToDocument) in the tensor object store. */
  readonly maps: string;
  readonly kernel: KernelPolicy;
  readonly method: MergeMethodChoice;
  readonly seed: number;
  readonly lambdas: readonly number[];
  readonly config: ForwardConfig;
  readonly batchSize: number | null;
  readonly scoring: TaskScoring;
  readonly data: EvaluationBatch;
  /**
   * Solve the merges by RegMean on these statistics examples: the sha256 of their tensor `[count, ...example
   * shape]` in the tensor object store (measured on `backend`, as the embedded engine does).
   */
  readonly regmean?: string;
}

/**
 * A model of a study cell: every tensor by hash (uploaded once, cached per worker), with the spec and forward
 * settings its files gave the dispatcher, so the worker rebuilds exactly the model the embedded runner reads.
 */
export interface StudyCellModelInput {
  readonly spec: ArchitectureSpec;
  readonly config: ForwardConfig;
  readonly tensors: readonly TensorRef[];
}

/** A study cell without its models' paths (the worker has none: it gets their tensors by hash). */
export interface StudyCellDescription extends Omit<StudyCell, 'base' | 'target'> {
  readonly base: StudyModelInfo;
  readonly target: StudyModelInfo;
}

/**
 * A language model's evaluation data, tokenized by the dispatcher (the tokenizer lives in the model's folder,
 * which the worker does not have): `tokens` names a `[sequences, context + 1]` float32 tensor of token ids.
 */

/** One cell of a study (`mal study --cluster`) → its result row; the cell names the backend it must run on. */
export interface StudyCellTaskInput {
  readonly kind: 'study-cell';
  readonly cell: StudyCellDescription;
  readonly base: StudyCellModelInput;
  readonly target: StudyCellModelInput;
  /** Language models only: their token sequences (other families' data is read by the worker by source). */
  readonly text?: TokenSequencesInput;
}

/**
 * An index array of an occurrence: little-endian int32 bytes, base64 in the message when small, else a blob in
 * the tensor object store by the sha256 of those bytes (a 7B model's index arrays run to 11008 entries).
 */
export type IndexArrayInput =
  | { readonly length: number; readonly base64: string }
  | { readonly length: number; readonly blob: string };

/** An OccurrenceProductTask (src/align/occurrence-product.ts) as it travels: its index arrays encoded. */
export interface OccurrenceInput {
  readonly key: string;
  readonly baseName: string;
  readonly targetName: string;
  readonly axis: number;
  readonly baseOffset: number;
  readonly baseLength: number;
  readonly targetIndices: readonly IndexArrayInput[];
  readonly rows: number;
  readonly cols: number;
  readonly wholeMatrix: boolean;
}

/**
 * One occurrence's share of an alignment cost matrix: its `rows × cols` product of the base tensor and the
 * target tensor read through the other axes' maps, on the worker's matmul engine. The two float32 tensors are in
 * the object store by content address (fetched once per worker); the product comes back in its engine's precision.
 */
export interface CostProductTaskInput {
  readonly kind: 'cost-product';
  readonly occurrence: OccurrenceInput;
  /** Content addresses of the base and the target tensor (F32 Arrow IPC in the tensor object store). */
  readonly base: string;
  readonly target: string;
  /**
   * Makes each product task distinct (`<runner>:<sequence>`): its result is removed once read, and a publish of an
   * equal task within JetStream's duplicate window would otherwise be dropped and never run.
   */
  readonly nonce: string;
}

/**
 * A product as a result holds it: its precision, and its little-endian bytes base64 inline when small, else a
 * blob in the result object store by their sha256 (an 11008² float32 product is 485 MB), read and then removed by
 * the dispatcher.
 */
export interface CostProductOutput {
  readonly rows: number;
  readonly cols: number;
  readonly dtype: 'F32' | 'F64';
  readonly base64?: string;
  readonly blob?: { readonly sha256: string; readonly bytes: number };
}

/** A study cell's row, as its cell file holds it (non-finite numbers as strings); read with decodeStudyRow. */
export interface StudyCellOutput {
  readonly studyRow: string;
}

export type TaskInput =
  | EvaluateTaskInput
  | AlignTaskInput
  | NoopTaskInput
  | CurveTaskInput
  | StudyCellTaskInput
  | CostProductTaskInput;

/** TASK_KINDS (task-kinds.ts) lists exactly the kinds of TaskInput: this fails to compile when they drift. */
const kindsListed: [TaskInput['kind']] extends [TaskKind]
  ? [TaskKind] extends [TaskInput['kind']]
    ? true
    : never
  : never = true;
void kindsListed;

/** What a worker stores under a task's key: the output, or the error that ended the task for good. */
export type TaskResultRecord =
  | {
      readonly ok: true;
      readonly kind: TaskInput['kind'];
      readonly output: TaskOutput | StudyCellOutput | CostProductOutput;
      readonly worker: string;
    }
  | {
      readonly ok: false;
      readonly kind: TaskInput['kind'] | 'unknown';
      readonly error: { readonly name: string; readonly message: string };
      readonly worker: string;
    };

/** The message on the wire: hashes and small metadata only, never tensor data. */
export interface TaskEnvelope {
  readonly key: string;
  readonly task: TaskInput;
}

/** A task's key: the hash of everything its result depends on, so equal tasks share one result. */
export function taskKey(task: TaskInput): string {
  return hashOf(task);
}

export function encodeEnvelope(task: TaskInput): { key: string; bytes: Uint8Array } {
  const key = taskKey(task);
  const bytes = new TextEncoder().encode(canonicalJson({ key, task }));
  if (bytes.byteLength > MAX_TASK_MESSAGE_BYTES) {
    // Workers refuse it unread, so say so here, where the task is made.
    throw new BadTaskError(
      `task ${key} (${task.kind}) is ${bytes.byteLength} bytes, more than the ${MAX_TASK_MESSAGE_BYTES} a task message may be`,
      key,
    );
  }
  return { key, bytes };
}
