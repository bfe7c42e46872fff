/**
 * The one Piscina task module: the embedded engine's evaluation pool and `mal worker`'s task threads both run
 * their tasks here. Errors come back as values, because a MalError's class does not survive the trip between
 * threads and a worker needs it to tell a task that will always fail from one worth retrying.
 */
import { type MapsDocumentSpace, spaceMapsToDocument } from '../align/maps-file.js';
import type { AlignmentSettings } from '../assembly/assembly-plan.js';
import { alignCandidate } from '../assembly/candidate-alignment.js';
import type { Candidate } from '../assembly/candidates.js';
import { type BackendName, initBackend } from '../compute/backend.js';
import type { Dataset } from '../data/dataset.js';
import { MalError } from '../errors.js';
import { evaluateTensorsScored, type TaskScoring } from '../eval/calibrated-evaluation.js';
import type { ForwardConfig } from '../eval/forward.js';
import type { ArchitectureSpec } from '../spec/architecture-spec.js';
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

export type ThreadTask = ThreadEvaluateTask | ThreadAlignTask | ThreadNoopTask;

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

export type TaskOutput = EvaluateOutput | AlignOutput | NoopOutput;

export type ThreadOutcome =
  | { readonly ok: true; readonly output: TaskOutput }
  | {
      readonly ok: false;
      /** True for a MalError: the same input will fail the same way on any worker. */
      readonly permanent: boolean;
      readonly name: string;
      readonly message: string;
    };

export async function runTask(task: ThreadTask): Promise<TaskOutput> {
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
