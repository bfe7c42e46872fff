/**
 * The one Piscina task module: the embedded engine's evaluation pool and `mal worker`'s task threads both run
 * their tasks here. Errors come back as values, because a MalError's class does not survive the trip between
 * threads and a worker needs it to tell a task that will always fail from one worth retrying.
 */
import type { KernelPolicy } from '../align/axis-index.js';
import { checkMapsFitPlan } from '../align/check-maps.js';
import { type MapsDocumentSpace, parseMapsDocument, spaceMapsToDocument } from '../align/maps-file.js';
import { type OccurrenceProductTask, occurrenceProduct } from '../align/occurrence-product.js';
import type { AlignmentSettings } from '../assembly/assembly-plan.js';
import {
  alignCandidate,
  candidateProblem,
  candidateTensorPairs,
  type ModelInMemory,
} from '../assembly/candidate-alignment.js';
import type { Candidate } from '../assembly/candidates.js';
import { type BackendName, initBackend } from '../compute/backend.js';
import type { Dataset } from '../data/dataset.js';
import { MalError } from '../errors.js';
import { evaluateTensorsScored, type TaskScoring } from '../eval/calibrated-evaluation.js';
import type { ForwardConfig } from '../eval/forward.js';
import { InterpolationPath } from '../eval/interpolation-path.js';
import { getMatmulEngine } from '../linalg/get-matmul-engine.js';
import type { MergeMethodChoice } from '../merge/merge-method-registry.js';
import { solveLinearAssignment } from '../solver/linear-assignment.js';
import type { ArchitectureSpec } from '../spec/architecture-spec.js';
import type { FloatTensor } from '../tensor/tensor.js';
import { type PackedTensors, unpackTensors } from './packed-tensors.js';

export interface ThreadEvaluateTask {
  readonly kind: 'evaluate';
  readonly backend: BackendName;
  readonly spec: ArchitectureSpec;
  readonly config: ForwardConfig;
  readonly batchSize: number | undefined;
  readonly scoring: TaskScoring;
  readonly tensors: PackedTensors;
  /** Features and labels in SharedArrayBuffers: every task on this data set reads the same memory. */
  readonly dataset: Dataset;
}

export interface ThreadAlignModel {
  readonly spec: ArchitectureSpec;
  readonly widths: readonly (readonly [string, number])[];
  readonly tensors: PackedTensors;
  readonly config?: ForwardConfig;
}

/** The examples activation matching runs both models on, and the backend it must run them on. */
export interface ThreadStatistics {
  readonly backend: BackendName;
  /** Features in SharedArrayBuffers: every alignment task on these examples reads the same memory. */
  readonly data: Dataset;
}

export interface ThreadAlignTask {
  readonly kind: 'align';
  readonly base: ThreadAlignModel;
  readonly zoo: ThreadAlignModel;
  readonly candidate: Candidate;
  readonly settings: AlignmentSettings;
  readonly seed: number;
  readonly statistics?: ThreadStatistics;
}

export interface ThreadNoopTask {
  readonly kind: 'noop';
  readonly tensors: PackedTensors;
}

/**
 * One candidate's merge along λ, built here and evaluated on one data set: the base's every tensor, the zoo's
 * paired ones, the candidate's maps as a maps document (checked as a maps file is), and the path's merge method.
 */
export interface ThreadCurveTask {
  readonly kind: 'curve';
  readonly backend: BackendName;
  readonly base: ThreadAlignModel;
  readonly zoo: ThreadAlignModel;
  readonly candidate: Candidate;
  readonly maps: Readonly<Record<string, MapsDocumentSpace>>;
  readonly kernel: KernelPolicy;
  readonly method: MergeMethodChoice;
  readonly seed: number;
  readonly lambdas: readonly number[];
  readonly config: ForwardConfig;
  readonly batchSize: number | undefined;
  readonly scoring: TaskScoring;
  /** Features and labels in SharedArrayBuffers, as for an evaluation. */
  readonly dataset: Dataset;
  /** Solve the merges by RegMean, its Gram matrices measured on these examples (labels are not read). */
  readonly regmean?: Dataset;
}

/**
 * Readies a fresh thread before its first real task: the backend and the assignment solver's WebAssembly are
 * compiled, so a worker's first task costs what its later ones do (a cold 1024² alignment otherwise pays for both).
 */
export interface ThreadWarmTask {
  readonly kind: 'warm';
  readonly backend: BackendName;
}

/** One occurrence's share of a cost matrix, on this thread's matmul engine (the fastest that loads here). */
export interface ThreadCostProductTask {
  readonly kind: 'cost-product';
  readonly occurrence: OccurrenceProductTask;
  readonly base: FloatTensor;
  readonly target: FloatTensor;
}

export type ThreadTask =
  | ThreadEvaluateTask
  | ThreadAlignTask
  | ThreadNoopTask
  | ThreadCurveTask
  | ThreadWarmTask
  | ThreadCostProductTask;

export interface EvaluateOutput {
  readonly loss: number;
  readonly accuracy: number;
  readonly count: number;
}

export interface AlignOutput {
  /** Every space's map, keyed by base space, as a maps file holds them (and checked as one when read back). */
  readonly spaces: Readonly<Record<string, MapsDocumentSpace>>;
  readonly preScore: number;
  readonly mapHashes: Readonly<Record<string, string>>;
}

export interface NoopOutput {
  readonly elements: number;
}

export interface CurveOutput {
  /** The evaluation at each λ, in the task's order. */
  readonly points: readonly EvaluateOutput[];
}

export type TaskOutput = EvaluateOutput | AlignOutput | NoopOutput | CurveOutput;

/** A cost product as the thread returns it; the worker stores its bytes (workers/nats/cost-product-wire.ts). */
export interface CostProductThreadOutput {
  readonly product: Float32Array | Float64Array;
}

export type ThreadOutput = TaskOutput | CostProductThreadOutput;

export type ThreadOutcome =
  | { readonly ok: true; readonly output: ThreadOutput }
  | {
      readonly ok: false;
      /** True for a MalError: the same input will fail the same way on any worker. */
      readonly permanent: boolean;
      readonly name: string;
      readonly message: string;
    };

export async function runTask(task: ThreadTask): Promise<ThreadOutput> {
  switch (task.kind) {
    case 'evaluate': {
      await initBackend(task.backend);
      const e = await evaluateTensorsScored(
        unpackTensors(task.tensors),
        task.spec,
        task.dataset,
        task.config,
        task.scoring,
        task.batchSize,
      );
      return { loss: e.loss, accuracy: e.accuracy, count: e.count };
    }
    case 'align': {
      const side = (m: ThreadAlignModel) => ({
        spec: m.spec,
        widths: new Map(m.widths),
        tensors: unpackTensors(m.tensors),
        ...(m.config === undefined ? {} : { config: m.config }),
      });
      if (task.statistics !== undefined) await initBackend(task.statistics.backend);
      const aligned = await alignCandidate(
        side(task.base),
        side(task.zoo),
        task.candidate,
        task.settings,
        task.seed,
        task.statistics === undefined ? undefined : { data: task.statistics.data },
      );
      return {
        spaces: spaceMapsToDocument(aligned.maps.values()),
        preScore: aligned.preScore,
        mapHashes: aligned.mapHashes,
      };
    }
    case 'noop':
      return { elements: task.tensors.weights.length };
    case 'warm': {
      await initBackend(task.backend);
      return { elements: solveLinearAssignment(Float64Array.of(1, 2, 2, 1), 2, 2).length };
    }
    case 'cost-product': {
      const product = await occurrenceProduct(
        task.occurrence,
        { base: async () => task.base, target: async () => task.target },
        await getMatmulEngine(),
      );
      return { product };
    }
    case 'curve': {
      await initBackend(task.backend);
      const side = (m: ThreadAlignModel): ModelInMemory => ({
        spec: m.spec,
        widths: new Map(m.widths),
        tensors: unpackTensors(m.tensors),
      });
      const base = side(task.base);
      const zoo = side(task.zoo);
      const problem = candidateProblem(base, zoo, candidateTensorPairs(base, zoo, task.candidate));
      const source = `the maps of curve task for ${task.candidate.model}`;
      const maps = parseMapsDocument({ spaces: task.maps }, source);
      checkMapsFitPlan(problem, maps, source);
      const path = new InterpolationPath(base.tensors, problem, maps, task.kernel, {
        choice: task.method,
        seed: task.seed,
        ...(task.regmean === undefined
          ? {}
          : { regmean: { spec: base.spec, config: task.config, data: task.regmean } }),
      });
      const points: EvaluateOutput[] = [];
      for (const lambda of task.lambdas) {
        const e = await evaluateTensorsScored(
          path.at(lambda),
          base.spec,
          task.dataset,
          task.config,
          task.scoring,
          task.batchSize,
        );
        points.push({ loss: e.loss, accuracy: e.accuracy, count: e.count });
      }
      return { points };
    }
  }
}

export default async function taskThread(task: ThreadTask): Promise<ThreadOutcome> {
  try {
    return { ok: true, output: await runTask(task) };
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    return { ok: false, permanent: error instanceof MalError, name: e.name, message: e.message };
  }
}
