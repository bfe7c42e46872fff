import { createHash } from 'node:crypto';
import { rm, stat } from 'node:fs/promises';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { transplantUnits } from '../assembly/transplant-units.js';
import type { BackendPreference } from '../compute/backend.js';
import { parseDataSource } from '../data/data-source.js';
import { MalError } from '../errors.js';
import { loadModel } from '../model/load-model.js';
import type { ArchitectureSpec, SpaceWidths } from '../spec/architecture-spec.js';
import { hashModel } from '../zoo/model-hash.js';
import { trainZooModel, type ZooTrainOptions } from '../zoo/train-zoo-model.js';
import { openZoo, trainedModelPath, type Zoo, zooModelPath } from '../zoo/zoo-folder.js';
import type { JsonValue, ReadableZooEntry, ZooEntry } from '../zoo/zoo-manifest.js';
import type { StudyCellModel } from './study-cell.js';
import { StudyError } from './study-file.js';
import type { Study, StudyDataset, StudyTrainGrid } from './study-schema.js';

/** A transplantable layer of a study model: its name and kind, in network order. */
export interface StudyUnit {
  readonly name: string;
  readonly kind: 'dense' | 'conv';
  /**
   * Which of its ends are fixed spaces (the input, the classes): only layers with the same ends can take each
   * other's place, since fixed spaces must match exactly.
   */
  readonly ends: UnitEnds;
}

export type UnitEnds = 'input' | 'hidden' | 'output' | 'whole';

/** A zoo model as the study uses it: what its cells say about it, and its layers. */
export interface StudyZooModel {
  readonly model: StudyCellModel;
  readonly units: readonly StudyUnit[];
}

export interface StudyZooHooks {
  /** What is happening: `training mlp-h64-fmnist-s1 (3/18)`, a training epoch, … */
  readonly onProgress?: (line: string) => void;
}

/** The model id of a grid model: `mlp-h64x64-fmnist-s1` (family, hidden widths, data name, seed). */
export function gridModelId(arch: string, hidden: readonly number[], data: string, seed: number): string {
  return `${arch}-h${hidden.join('x')}-${data}-s${seed}`;
}

/**
 * The study's models, in the zoo's order: an existing zoo's (all readable ones, or the listed ids), or the grid,
 * trained into the zoo folder where a model of that id is missing. A model of a grid id trained with other
 * options is refused rather than silently reused.
 */
export async function resolveStudyZoo(
  study: Study,
  backend: BackendPreference,
  hooks: StudyZooHooks = {},
): Promise<StudyZooModel[]> {
  const grid = study.zoo.train;
  if (grid === undefined) {
    const zoo = await openZoo(study.zoo.folder);
    const entries = selectEntries(zoo, study.zoo.models);
    const out: StudyZooModel[] = [];
    for (const entry of entries) {
      out.push(await describeStudyModel(zoo, entry, datasetOfEntry(study, zoo, entry)));
    }
    return out;
  }
  let zoo = await openZoo(study.zoo.folder, { create: true });
  const jobs = gridJobs(study, grid, backend);
  const out: StudyZooModel[] = [];
  for (const [index, job] of jobs.entries()) {
    const existing = zoo.manifest.models.find((m) => m.id === job.id);
    if (existing !== undefined) {
      assertSameTraining(zoo, existing, job.options);
    } else {
      const file = join(zoo.dir, trainedModelPath(job.id));
      // A file without an entry is a training killed between writing the model and recording it.
      if (await exists(file)) await rm(file, { force: true });
      hooks.onProgress?.(`training ${job.id} (${index + 1}/${jobs.length})`);
      await trainZooModel(zoo, job.options, {
        onEpoch: (e) =>
          hooks.onProgress?.(
            `training ${job.id} (${index + 1}/${jobs.length}): epoch ${e.epoch}/${e.epochs} loss ${e.loss.toFixed(4)}`,
          ),
      });
      zoo = await openZoo(zoo.dir);
    }
    const entry = zoo.manifest.models.find((m) => m.id === job.id);
    if (entry === undefined)
      throw new StudyError(`${zoo.dir}: model '${job.id}' was trained but is not in zoo.json`);
    out.push(await describeStudyModel(zoo, entry, job.dataset));
  }
  return out;
}

interface GridJob {
  readonly id: string;
  readonly dataset: StudyDataset;
  readonly options: ZooTrainOptions;
}

/**
 * The seed a grid model trains with, drawn from its id: models of one seed but other widths or data would
 * otherwise start from the same initialization, stay close to it, and connect without any alignment, which is
 * not the independently trained models the study is about. The id's `s<seed>` names the replica.
 */
export function gridTrainingSeed(id: string): number {
  return createHash('sha256').update(id).digest().readUInt32BE(0);
}

/** The grid's models in a fixed order: data set, depth, width, seed. */
function gridJobs(study: Study, grid: StudyTrainGrid, backend: BackendPreference): GridJob[] {
  const jobs: GridJob[] = [];
  for (const name of grid.datasets) {
    const dataset = study.datasets.find((d) => d.name === name);
    if (dataset === undefined)
      throw new StudyError(`${study.file}: zoo.train.datasets: no data set '${name}'`);
    for (const depth of grid.depths) {
      for (const width of grid.widths) {
        for (const seed of grid.seeds) {
          const hidden = Array.from({ length: depth }, () => width);
          const id = gridModelId(grid.arch, hidden, name, seed);
          const trainingSeed = gridTrainingSeed(id);
          jobs.push({
            id,
            dataset,
            options: {
              architecture: grid.arch,
              hidden,
              data: dataset.train,
              dataDir: study.data.dataDir,
              limit: grid.limit,
              epochs: grid.epochs,
              seed: trainingSeed,
              batchSize: grid.batchSize,
              learningRate: grid.learningRate,
              evalSources: [dataset.eval],
              evalLimit: grid.evalLimit,
              id,
              dtype: 'f32',
              backend,
            },
          });
        }
      }
    }
  }
  return jobs;
}

/** The options a trained entry recorded must be the grid's, else the folder holds another study's model. */
function assertSameTraining(zoo: Zoo, entry: ZooEntry, options: ZooTrainOptions): void {
  const recorded = entry.provenance.kind === 'trained' ? entry.provenance.options : undefined;
  const wanted: Record<string, JsonValue | undefined> = {
    arch: options.architecture,
    hidden: [...options.hidden],
    data: options.data,
    epochs: options.epochs,
    seed: options.seed,
    limit: options.limit,
    'batch-size': options.batchSize,
    lr: options.learningRate,
  };
  const differs = Object.entries(wanted).filter(([key, value]) => {
    if (value === undefined) return key === 'limit' && recorded?.limit !== undefined;
    if (key === 'data' && sameDataFile(recorded?.data, value)) return false;
    return JSON.stringify(recorded?.[key]) !== JSON.stringify(value);
  });
  if (recorded === undefined || differs.length > 0) {
    throw new StudyError(
      `${zoo.dir}: the zoo already has a model '${entry.id}' trained with other options (${
        recorded === undefined ? 'it was added, not trained' : differs.map(([k]) => k).join(', ')
      }); give zoo.folder a folder of its own, or remove the model`,
    );
  }
}

/**
 * A data file recorded by absolute path still names the same data after the checkout (zoo and data together)
 * moved to another folder: the file name, which the study's data set fixes, is what must agree.
 */
function sameDataFile(recorded: JsonValue | undefined, wanted: JsonValue): boolean {
  return (
    typeof recorded === 'string' &&
    typeof wanted === 'string' &&
    isAbsolute(recorded) &&
    isAbsolute(wanted) &&
    basename(recorded) === basename(wanted)
  );
}

function selectEntries(zoo: Zoo, ids: readonly string[] | undefined): ReadableZooEntry[] {
  const where = join(zoo.dir, 'zoo.json');
  if (ids === undefined) return zoo.manifest.models.filter((m): m is ReadableZooEntry => m.readable);
  return ids.map((id) => {
    const entry = zoo.manifest.models.find((m) => m.id === id);
    if (entry === undefined) throw new StudyError(`${where}: zoo.models: no model with id '${id}'`);
    if (!entry.readable)
      throw new StudyError(`${where}: zoo.models: model '${id}' is unreadable (${entry.reason})`);
    return entry;
  });
}

/** The study data set a zoo model was trained on: the one whose `train` is the manifest's `dataset`. */
function datasetOfEntry(study: Study, zoo: Zoo, entry: ZooEntry): StudyDataset {
  const recorded = entry.dataset;
  const found =
    recorded === undefined ? undefined : study.datasets.find((d) => sameSource(d.train, recorded, zoo.dir));
  if (found === undefined) {
    throw new StudyError(
      `${study.file}: datasets: zoo model '${entry.id}' was trained on ${
        recorded === undefined ? 'unrecorded data' : `'${recorded}'`
      }, which no data set's train names; add {name, train: ${recorded ?? '<source>'}, eval} to datasets`,
    );
  }
  return found;
}

/**
 * Named sources by name; Arrow files by absolute path (a zoo records relative ones against its folder). Text
 * sources (a language model's) are compared as written.
 */
function sameSource(studySource: string, zooSource: string, zooDir: string): boolean {
  if (studySource === zooSource) return true;
  const a = labelledSourceOf(studySource);
  const b = labelledSourceOf(zooSource);
  return a?.kind === 'arrow' && b?.kind === 'arrow' && resolve(a.path) === resolve(zooDir, b.path);
}

function labelledSourceOf(text: string): ReturnType<typeof parseDataSource> | undefined {
  try {
    return parseDataSource(text);
  } catch (error) {
    if (error instanceof MalError) return undefined;
    throw error;
  }
}

async function describeStudyModel(zoo: Zoo, entry: ZooEntry, dataset: StudyDataset): Promise<StudyZooModel> {
  if (!entry.readable)
    throw new StudyError(`${zoo.dir}: model '${entry.id}' is unreadable (${entry.reason})`);
  const path = zooModelPath(zoo, entry);
  // Cells are addressed by the recorded sha256: a changed file would otherwise reuse rows measured on other
  // weights (or fail cell by cell after the outputs of a finished study were rewritten), so it stops the study here.
  const { sha256 } = await hashModel(path);
  if (sha256 !== entry.sha256) {
    throw new StudyError(
      `${path}: model '${entry.id}' no longer hashes to the sha256 the zoo recorded (${entry.sha256}, now ${sha256}); the file changed since it was added: re-add it to the zoo, or retrain it`,
    );
  }
  const loaded = await loadModel(path);
  try {
    const fixed = new Set(loaded.spec.spaces.filter((sp) => sp.kind === 'fixed').map((sp) => sp.name));
    const units = transplantUnits(loaded.spec).map((u): StudyUnit => {
      const reads = u.layers[0].input !== null && fixed.has(u.layers[0].input);
      const writes = u.layers[0].output !== null && fixed.has(u.layers[0].output);
      return {
        name: u.name,
        kind: u.kind,
        ends: reads ? (writes ? 'whole' : 'input') : writes ? 'output' : 'hidden',
      };
    });
    return {
      model: {
        id: entry.id,
        sha256: entry.sha256,
        family: entry.family,
        arch: archLabel(loaded.spec, loaded.widths),
        depth: units.length,
        data: dataset.name,
        domain: dataset.domain,
        path,
      },
      units,
    };
  } finally {
    await loaded.source.close();
  }
}

/** `mlp-h128x64`: the family and the widths of its free (hidden) spaces in network order. */
export function archLabel(spec: ArchitectureSpec, widths: SpaceWidths): string {
  const hidden = spec.spaces.filter((s) => s.kind === 'free').map((s) => widths.get(s.name));
  return hidden.length === 0 ? spec.family : `${spec.family}-h${hidden.join('x')}`;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
