import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { BackendName } from '../../src/compute/backend.js';
import type { Dataset } from '../../src/data/dataset.js';
import { packTensors } from '../../src/engine/packed-tensors.js';
import { exampleLayoutFor } from '../../src/eval/model-evaluation.js';
import { isTransformerFamily } from '../../src/eval/transformer-settings.js';
import { disableOnnxruntimeTelemetry } from '../../src/linalg/onnxruntime-telemetry.js';
import type { StudyCell } from '../../src/study/study-cell.js';
import type { PackedStudyCellTask, PackedStudyModel } from '../../src/study/study-cell-packed-thread.js';
import type { StudyCellOutcome } from '../../src/study/study-cell-thread.js';
import { encodeStudyRow } from '../../src/study/study-results.js';
import type { FloatTensor } from '../../src/tensor/tensor.js';
import { BadTaskError } from './nats-errors.js';
import type { DataBatch, StudyCellOutput, TensorRef } from './task-messages.js';
import type { ValidStudyCellTask } from './task-schema.js';
import { tokenSequencesDataset } from './token-sequences.js';

/** What a study cell needs from its worker: tensors by hash (its bounded cache) and data batches (loaded once). */
export interface StudyCellSources {
  fetchTensors(refs: readonly TensorRef[]): Promise<[string, FloatTensor][]>;
  dataset(batch: DataBatch): Promise<Dataset>;
  /** The worker's tensor memory (`--cache-mb`) in bytes: a cell's models and token sequences together fit in it. */
  readonly tensorBytes: number;
}

export type StudyCellTaskOutcome =
  | { readonly ok: true; readonly output: StudyCellOutput }
  | { readonly ok: false; readonly permanent: boolean; readonly name: string; readonly message: string };

/**
 * A task worker's study cells: the models' tensors come from the worker's tensor cache (so each crosses the
 * network once per worker, however many cells use it), the evaluation data from its data cache, and the cell runs
 * on a thread pool of its own (made on the first cell, so a worker that never gets one starts no extra threads).
 */
export class StudyCellWorker {
  private pool: Piscina<PackedStudyCellTask, StudyCellOutcome> | undefined;

  constructor(private readonly threads: number) {}

  async run(
    task: ValidStudyCellTask,
    sources: StudyCellSources,
    signal: AbortSignal,
  ): Promise<StudyCellTaskOutcome> {
    const cell = studyCellOf(task);
    const [base, target, dataset] = await Promise.all([
      sources.fetchTensors(task.base.tensors),
      sources.fetchTensors(task.target.tensors),
      evaluationData(task, cell, sources),
    ]);
    signal.throwIfAborted();
    // Each fetch is bounded on its own; together they would be packed (copied) and held by one thread.
    const held =
      [...base, ...target].reduce((sum, [, t]) => sum + t.data.byteLength, 0) +
      (task.text === undefined ? 0 : dataset.features.byteLength);
    if (held > sources.tensorBytes) {
      throw new BadTaskError(
        `study cell ${task.cell.base.id} → ${task.cell.target.id}: its models${task.text === undefined ? '' : ' and token sequences'} take ${held} bytes, more than this worker's tensor memory (--cache-mb, ${sources.tensorBytes} bytes)`,
      );
    }
    const packedBase: PackedStudyModel = { ...task.base, tensors: packTensors(base) };
    const packedTarget: PackedStudyModel = { ...task.target, tensors: packTensors(target) };
    const outcome = await this.threadPool().run(
      { cell, base: packedBase, target: packedTarget, dataset },
      {
        transferList: [
          packedBase.tensors.weights.buffer as ArrayBuffer,
          packedTarget.tensors.weights.buffer as ArrayBuffer,
        ],
        signal,
      },
    );
    return outcome.ok ? { ok: true, output: { studyRow: encodeStudyRow(outcome.row) } } : outcome;
  }

  async destroy(): Promise<void> {
    await this.pool?.destroy();
  }

  private threadPool(): Piscina<PackedStudyCellTask, StudyCellOutcome> {
    if (this.pool === undefined) {
      // Compiled code runs the .js module; sources (tests, tsx) run the .ts file through tsx.
      const fromSource = import.meta.url.endsWith('.ts');
      disableOnnxruntimeTelemetry();
      this.pool = new Piscina({
        filename: fileURLToPath(
          new URL(`../../src/study/study-cell-packed-thread.${fromSource ? 'ts' : 'js'}`, import.meta.url),
        ),
        minThreads: this.threads,
        maxThreads: this.threads,
        execArgv: fromSource ? ['--import', 'tsx'] : [],
      });
    }
    return this.pool;
  }
}

/**
 * The cell's evaluation data: a language model's token sequences as the dispatcher tokenized them (checked here:
 * a bad id would index past the embedding), the other families' examples loaded by source.
 */
async function evaluationData(
  task: ValidStudyCellTask,
  cell: StudyCell,
  sources: StudyCellSources,
): Promise<Dataset> {
  const where = `study cell ${task.cell.base.id} → ${task.cell.target.id}`;
  const { text } = task;
  if (!isTransformerFamily(task.base.spec.family)) {
    if (text !== undefined)
      throw new BadTaskError(
        `${where}: a ${task.base.spec.family} model reads labelled examples, not token sequences`,
      );
    return sources.dataset({
      source: cell.evalData,
      layout: exampleLayoutFor(task.base.spec),
      start: 0,
      end: cell.evalLimit,
    });
  }
  if (text === undefined)
    throw new BadTaskError(
      `${where}: a ${task.base.spec.family} model reads token sequences, and the task carries none`,
    );
  const [[, tokens]] = await sources.fetchTensors([{ name: 'tokens', hash: text.tokens }]);
  return tokenSequencesDataset(cell.evalData, tokens, text, where, cell.evalLimit);
}

/** The cell the row is measured for; its models' paths are not part of it (the worker reads no files). */
function studyCellOf(task: ValidStudyCellTask): StudyCell {
  const { cell } = task;
  return {
    ...cell,
    // The schema admitted only backend names (z.enum over a filtered list types as string).
    backend: cell.backend as BackendName,
    base: { ...cell.base, path: `sha256:${cell.base.sha256}` },
    target: { ...cell.target, path: `sha256:${cell.target.sha256}` },
  };
}
