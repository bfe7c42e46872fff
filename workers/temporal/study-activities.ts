import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import { type BackendName, initBackend, isBackendPreference } from '../../src/compute/backend.js';
import { MalError, UsageError } from '../../src/errors.js';
import { isTransformerFamily } from '../../src/eval/transformer-settings.js';
import { removeOrphanedTemporaries } from '../../src/io/atomic-file.js';
import { cellEvaluationData } from '../../src/study/run-study-cell.js';
import type { StudyCell, StudyCellModel } from '../../src/study/study-cell.js';
import { studyCellAddress } from '../../src/study/study-cell-address.js';
import { chunkStudyCells, readStudyCellList, writeStudyCellList } from '../../src/study/study-cell-list.js';
import { expandStudyCells } from '../../src/study/study-cells.js';
import { loadStudyFile, StudyError } from '../../src/study/study-file.js';
import { checkStudyOutputPlace } from '../../src/study/study-output-place.js';
import { writeStudyOutputs } from '../../src/study/study-outputs.js';
import { createStudyResources } from '../../src/study/study-resources.js';
import {
  CELLS_FOLDER,
  decodeStudyRow,
  studyProgressState,
  writeCellRow,
} from '../../src/study/study-results.js';
import type { StudyModelInfo } from '../../src/study/study-row.js';
import { resolveStudyZoo } from '../../src/study/study-zoo.js';
import type {
  FailedStudyCell,
  FinishedStudy,
  PreparedStudy,
  StudyActivities,
  StudyChunkInput,
  StudyChunkResult,
  StudyRunRef,
  WriteStudyInput,
} from '../../workflows/study-types.js';
import { natsConnectionOptions } from '../nats/connection-options.js';
import { NatsTaskDispatcher } from '../nats/task-dispatcher.js';
import type {
  StudyCellModelInput,
  StudyCellOutput,
  StudyCellTaskInput,
  TokenSequencesInput,
} from '../nats/task-messages.js';
import { withHeartbeats } from './activities.js';
import { TASK_POOL_ENV } from './assembly-session.js';

/** Most cells in one chunk unless the run says otherwise. */
export const DEFAULT_CHUNK_CELLS = 16;

/** Models whose uploaded tensors this process remembers (their hashes only; the tensors are not kept). */
const MODEL_INPUTS_KEPT = 1024;

/**
 * The study activities: prepare resolves (or trains) the zoo and writes the cell list; each chunk sends its cells
 * that have no row yet to the task workers as `study-cell` tasks (models by tensor hashes, uploaded once) and
 * writes every row as it arrives; the last writes the outputs with the embedded runner's code.
 */
export function createStudyActivities(): { readonly activities: StudyActivities; close(): Promise<void> } {
  let dispatcher: Promise<NatsTaskDispatcher> | undefined;
  const dispatcherFor = (): Promise<NatsTaskDispatcher> => {
    if (dispatcher === undefined) {
      const connecting = NatsTaskDispatcher.connect({
        connection: natsConnectionOptions(),
        pool: process.env[TASK_POOL_ENV] ?? 'cpu',
      });
      dispatcher = connecting;
      connecting.catch(() => {
        if (dispatcher === connecting) dispatcher = undefined;
      });
    }
    return dispatcher;
  };
  // Models are read (and checked against their sha256) here, a few at a time: only their hashes stay.
  const resources = createStudyResources({ maxModels: 8 });
  const modelInputs = new Map<string, Promise<StudyCellModelInput>>();
  const modelInput = (model: StudyCellModel): Promise<StudyCellModelInput> => {
    const key = `${model.sha256}\u0000${model.path}\u0000${model.specPath ?? ''}`;
    let found = modelInputs.get(key);
    if (found === undefined) {
      found = (async () => {
        const loaded = await resources.model(model);
        const nats = await dispatcherFor();
        return {
          spec: loaded.spec,
          config: loaded.config,
          tensors: await nats.uploadTensors(loaded.tensors),
        };
      })();
      modelInputs.set(key, found);
      found.catch(() => modelInputs.delete(key));
      if (modelInputs.size > MODEL_INPUTS_KEPT) modelInputs.delete(modelInputs.keys().next().value as string);
    }
    return found;
  };

  /**
   * Per chunk, a language model's cells on one base and data share their token sequences: tokenized and uploaded
   * once. Not kept longer: the sha256 that names a model covers its weights, not its tokenizer, config or text.
   */
  const textInputsOfChunk = (): ((cell: StudyCell) => Promise<TokenSequencesInput>) => {
    const texts = createStudyResources({ maxModels: 1 });
    const inputs = new Map<string, Promise<TokenSequencesInput>>();
    return (cell) => {
      const key = JSON.stringify([
        cell.base.sha256,
        cell.base.path,
        cell.base.specPath,
        cell.evalData,
        cell.evalLimit,
      ]);
      let found = inputs.get(key);
      if (found === undefined) {
        found = (async () => {
          const data = await cellEvaluationData(cell, await resources.model(cell.base), texts);
          return (await dispatcherFor()).uploadTokenSequences(data);
        })();
        inputs.set(key, found);
      }
      return found;
    };
  };

  const activities: StudyActivities = {
    async prepareStudy(ref: StudyRunRef): Promise<PreparedStudy> {
      return withHeartbeats(async () => {
        const study = await loadStudyFile(ref.study);
        checkStudyOutputPlace(study, ref.out);
        const preference = ref.backend ?? study.backend;
        if (!isBackendPreference(preference)) throw new UsageError(`unknown backend '${preference}'`);
        const backend = (await initBackend(preference)).name;
        const models = await resolveStudyZoo(study, backend, { onProgress: (line) => heartbeat(line) });
        const expansion = expandStudyCells(study, models, backend);
        const cellsFolder = join(ref.out, CELLS_FOLDER);
        await mkdir(cellsFolder, { recursive: true });
        await removeOrphanedTemporaries(cellsFolder);
        const chunks = chunkStudyCells(expansion.cells, ref.chunkCells ?? DEFAULT_CHUNK_CELLS);
        await writeStudyCellList(ref.out, {
          version: 1,
          backend,
          pairs: expansion.pairs,
          chunks,
          cells: expansion.cells,
        });
        const state = await studyProgressState(ref.out, expansion.cells);
        return {
          title: study.title,
          backend,
          cells: expansion.cells.length,
          pairs: expansion.pairs,
          chunks: chunks.map((c) => ({
            cells: c.end - c.start,
            pairs: c.pairs,
            done: expansion.cells
              .slice(c.start, c.end)
              .filter((cell) => state.done.has(studyCellAddress(cell))).length,
          })),
        };
      });
    },

    async measureStudyChunk(input: StudyChunkInput): Promise<StudyChunkResult> {
      const list = await readStudyCellList(input.out);
      const chunk = list.chunks[input.chunk];
      if (chunk === undefined)
        throw new StudyError(
          `${input.out}: the study has ${list.chunks.length} chunks, not ${input.chunk + 1}`,
        );
      const state = await studyProgressState(input.out, list.cells.slice(chunk.start, chunk.end));
      const failed: FailedStudyCell[] = [];
      let measured = 0;
      if (state.missing.length > 0) {
        await withHeartbeats(async () => {
          const textInput = textInputsOfChunk();
          // A cell whose task cannot be made (its text does not fill a sequence, say) fails alone, as embedded.
          const made = await Promise.all(
            state.missing.map(async ({ address, cell }) => {
              try {
                return await studyCellTask(cell, modelInput, textInput);
              } catch (error) {
                if (!(error instanceof MalError)) throw error;
                failed.push(failedCell(address, cell, error.message));
                return undefined;
              }
            }),
          );
          const sent = state.missing.filter((_, i) => made[i] !== undefined);
          const tasks = made.filter((task) => task !== undefined);
          const nats = await dispatcherFor();
          await nats.run(tasks, async (i, record) => {
            const { address, cell } = sent[i];
            if (!record.ok) {
              failed.push(failedCell(address, cell, record.error.message));
              return;
            }
            const text = (record.output as Partial<StudyCellOutput>).studyRow;
            const row = typeof text === 'string' ? decodeStudyRow(text, address) : undefined;
            if (row === undefined) {
              failed.push(failedCell(address, cell, `the worker's result is not a row of cell ${address}`));
              return;
            }
            await writeCellRow(input.out, row);
            measured++;
            heartbeat({ chunk: input.chunk, measured });
          });
        });
      }
      return { chunk: input.chunk, measured, reused: state.done.size, failed };
    },

    async writeStudyOutputs(input: WriteStudyInput): Promise<FinishedStudy> {
      return withHeartbeats(async () => {
        const study = await loadStudyFile(input.study);
        const list = await readStudyCellList(input.out);
        const state = await studyProgressState(input.out, list.cells);
        const failed = new Set(input.failed.map((f) => f.cell));
        const lost = state.missing.filter((m) => !failed.has(m.address));
        if (lost.length > 0)
          throw new StudyError(
            `${join(input.out, CELLS_FOLDER)}: ${lost.length} cell(s) have no row (the first: ${lost[0].address}); were files removed while the study ran? Submit the study again to measure them`,
          );
        // The zoo and cells as the embedded runner has them (the zoo is trained by now, so this only reads it).
        const backend = list.backend as BackendName;
        const models = await resolveStudyZoo(study, backend);
        const expansion = expandStudyCells(study, models, backend);
        const { rows, files } = await writeStudyOutputs(
          study,
          input.out,
          models,
          expansion,
          state.done,
          input.failed,
        );
        return {
          title: study.title,
          cells: list.cells.length,
          rows: rows.length,
          failed: input.failed.length,
          pairs: list.pairs,
          files,
        };
      });
    },
  };
  return {
    activities,
    async close() {
      const open = dispatcher;
      dispatcher = undefined;
      if (open !== undefined) await (await open.catch(() => undefined))?.close();
    },
  };
}

/**
 * The task of one cell: the cell without its models' paths, each model's tensors by hash, and for a language
 * model its token sequences by hash.
 */
async function studyCellTask(
  cell: StudyCell,
  modelInput: (model: StudyCellModel) => Promise<StudyCellModelInput>,
  textInput: (cell: StudyCell) => Promise<TokenSequencesInput>,
): Promise<StudyCellTaskInput> {
  const [base, target] = await Promise.all([modelInput(cell.base), modelInput(cell.target)]);
  const text = isTransformerFamily(base.spec.family) ? await textInput(cell) : undefined;
  return {
    kind: 'study-cell',
    cell: { ...cell, base: modelInfo(cell.base), target: modelInfo(cell.target) },
    base,
    target,
    ...(text === undefined ? {} : { text }),
  };
}

function modelInfo(model: StudyCellModel): StudyModelInfo {
  const { path: _path, specPath: _specPath, ...info } = model;
  return info;
}

function failedCell(address: string, cell: StudyCell, reason: string): FailedStudyCell {
  return {
    cell: address,
    base: cell.base.id,
    target: cell.target.id,
    position: cell.position,
    aligned: cell.aligned,
    reason,
  };
}

function heartbeat(details: unknown): void {
  try {
    Context.current().heartbeat(details);
  } catch {
    // Not inside an activity (a direct call): nothing to tell.
  }
}
