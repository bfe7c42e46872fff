/**
 * The Piscina task module of a cluster worker's study cells: measures one cell whose models arrive in memory
 * (packed tensors, spec and forward settings, as the model's files gave them to the dispatcher) and whose
 * evaluation data the worker loaded. The same runStudyCell as the embedded runner, on the same values, so the row
 * is the same. Errors come back as values, as in study-cell-thread.ts.
 */
import { initBackend } from '../compute/backend.js';
import type { Dataset } from '../data/dataset.js';
import type { PackedTensors } from '../engine/packed-tensors.js';
import { unpackTensors } from '../engine/packed-tensors.js';
import { MalError } from '../errors.js';
import type { ForwardConfig } from '../eval/forward.js';
import type { ArchitectureSpec } from '../spec/architecture-spec.js';
import { computeSpaceWidths } from '../spec/space-widths.js';
import { runStudyCell } from './run-study-cell.js';
import type { StudyCell } from './study-cell.js';
import type { StudyCellOutcome } from './study-cell-thread.js';
import type { StudyModel } from './study-resources.js';

/** A model of a cell in memory: what loadModel and readFiniteFloatTensors gave the dispatcher. */
export interface PackedStudyModel {
  readonly spec: ArchitectureSpec;
  readonly config: ForwardConfig;
  /** Every tensor of the model, in the model's order. */
  readonly tensors: PackedTensors;
}

export interface PackedStudyCellTask {
  readonly cell: StudyCell;
  readonly base: PackedStudyModel;
  readonly target: PackedStudyModel;
  /** The first `cell.evalLimit` examples of `cell.evalData`, in the base's layout. */
  readonly dataset: Dataset;
}

function unpack(model: PackedStudyModel): StudyModel {
  const tensors = unpackTensors(model.tensors);
  // Widths from the tensors' shapes, as loadModel computes them from the file's.
  const widths = computeSpaceWidths(model.spec, new Map([...tensors].map(([name, t]) => [name, t.shape])));
  return { spec: model.spec, widths, tensors, config: model.config };
}

export default async function studyCellPackedThread(task: PackedStudyCellTask): Promise<StudyCellOutcome> {
  try {
    const base = unpack(task.base);
    const target = unpack(task.target);
    const row = await runStudyCell(task.cell, {
      prepare: async () => {
        await initBackend(task.cell.backend);
      },
      // Base and target may share weights (one sha256): either side is then the right one.
      model: async (m) => (m.sha256 === task.cell.base.sha256 ? base : target),
      dataset: async () => task.dataset,
      // The sequences came from the dispatcher: they must be the base's context plus one, as the embedded
      // runner tokenizes them, or the row would be filed under a cell it was not measured for.
      text: async (_model, _source, sequenceLength) => {
        const [size] = task.dataset.exampleShape;
        if (size !== sequenceLength + 1) {
          throw new MalError(
            `the cell's token sequences are ${size} tokens long, but the base reads ${sequenceLength} plus the one it predicts`,
          );
        }
        return task.dataset;
      },
    });
    return { ok: true, row };
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    return { ok: false, permanent: error instanceof MalError, name: e.name, message: e.message };
  }
}
