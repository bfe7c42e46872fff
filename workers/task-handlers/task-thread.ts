/**
 * Piscina task module of `mal worker`: runs one dispatched task with its tensors already fetched. Errors come
 * back as values, because a MalError's class does not survive the trip between threads and the worker needs it
 * to tell a task that will always fail from one worth retrying.
 */
import type { AlignmentSettings } from '../../src/assembly/assembly-plan.js';
import { alignCandidate } from '../../src/assembly/candidate-alignment.js';
import type { Candidate } from '../../src/assembly/candidates.js';
import { type BackendName, initBackend } from '../../src/compute/backend.js';
import type { Dataset } from '../../src/data/dataset.js';
import { MalError } from '../../src/errors.js';
import type { ForwardConfig } from '../../src/eval/forward.js';
import { evaluateTensors } from '../../src/eval/model-evaluation.js';
import type { ArchitectureSpec } from '../../src/spec/architecture-spec.js';
import type { AlignOutput, EvaluateOutput, NoopOutput } from '../nats/task-messages.js';
import { type PackedTensors, unpackTensors } from './packed-tensors.js';

export interface ThreadEvaluateTask {
  readonly kind: 'evaluate';
  readonly backend: BackendName;
  readonly spec: ArchitectureSpec;
  readonly config: ForwardConfig;
  readonly batchSize: number | undefined;
  readonly tensors: PackedTensors;
  /** Features and labels in SharedArrayBuffers, shared by every task on this batch. */
  readonly dataset: Dataset;
}

export interface ThreadAlignModel {
  readonly spec: ArchitectureSpec;
  readonly widths: readonly (readonly [string, number])[];
  readonly tensors: PackedTensors;
}

export interface ThreadAlignTask {
  readonly kind: 'align';
  readonly base: ThreadAlignModel;
  readonly zoo: ThreadAlignModel;
  readonly candidate: Candidate;
  readonly settings: AlignmentSettings;
  readonly seed: number;
}

export interface ThreadNoopTask {
  readonly kind: 'noop';
  readonly tensors: PackedTensors;
}

export type ThreadTask = ThreadEvaluateTask | ThreadAlignTask | ThreadNoopTask;

export type ThreadOutcome =
  | { readonly ok: true; readonly output: EvaluateOutput | AlignOutput | NoopOutput }
  | {
      readonly ok: false;
      /** True for a MalError: the same input will fail the same way on any worker. */
      readonly permanent: boolean;
      readonly name: string;
      readonly message: string;
    };

export async function runTask(task: ThreadTask): Promise<EvaluateOutput | AlignOutput | NoopOutput> {
  switch (task.kind) {
    case 'evaluate': {
      await initBackend(task.backend);
      const e = await evaluateTensors(
        unpackTensors(task.tensors),
        task.spec,
        task.dataset,
        task.config,
        task.batchSize,
      );
      return { loss: e.loss, accuracy: e.accuracy, count: e.count };
    }
    case 'align': {
      const side = (m: ThreadAlignModel) => ({
        spec: m.spec,
        widths: new Map(m.widths),
        tensors: unpackTensors(m.tensors),
      });
      const aligned = await alignCandidate(
        side(task.base),
        side(task.zoo),
        task.candidate,
        task.settings,
        task.seed,
      );
      return {
        maps: [...aligned.maps.values()].map((m) => ({
          baseSpace: m.baseSpace,
          targetSpace: m.targetSpace,
          kind: m.kind,
          baseWidth: m.baseWidth,
          targetWidth: m.targetWidth,
          map: Array.from(m.map),
        })),
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
