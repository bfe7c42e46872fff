import { readdir } from 'node:fs/promises';
import { InvalidFileError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic-file.js';
import { errnoCode, fileSystemError } from '../io/file-system-error.js';
import { OUTPUT_LOCK_FILE } from '../io/output-folder-lock.js';
import { checkOutputFolder, type RunInput } from '../io/output-guard.js';
import { cleanOutputFolder, stageOutputSet } from '../io/output-set.js';
import { readableJson } from '../zoo/readable-json.js';
import {
  type ClassBiasedSplit,
  type ClassBiasedSplitOptions,
  classBiasedSplit,
  countPerClass,
} from './class-biased-split.js';
import { parseDataSource } from './data-source.js';
import type { Dataset } from './dataset.js';
import { datasetToArrowIPC } from './dataset-arrow-writer.js';
import { datasetSubset } from './dataset-subset.js';

export const SPLIT_SUMMARY_FILE = 'split.json';
export const HOLDOUT_FILE = 'holdout.arrow';
export const SPLIT_SUMMARY_VERSION = 1;

export function partFileName(part: number): string {
  return `part-${part}.arrow`;
}

/** One file of the split as split.json describes it. */
export interface SplitFileSummary {
  readonly file: string;
  readonly examples: number;
  /** Examples of each class, indexed by class. */
  readonly perClass: readonly number[];
}

export interface SplitPartSummary extends SplitFileSummary {
  /** The classes this part owns (receives the fraction `bias` of). */
  readonly ownClasses: readonly number[];
}

/** split.json: what was split, how, and what each file holds. No times or paths of this machine: same options, same bytes. */
export interface SplitSummary {
  readonly version: number;
  readonly command: 'mal data split';
  readonly source: string;
  readonly options: ClassBiasedSplitOptions;
  readonly classes: number;
  readonly classNames?: readonly string[];
  readonly sourceExamples: number;
  readonly sourcePerClass: readonly number[];
  /** Absent when no examples were held out. */
  readonly holdout?: SplitFileSummary;
  readonly parts: readonly SplitPartSummary[];
}

/** The names a split with `parts` parts writes, split.json last. */
export function splitFileNames(parts: number, holdout: number): string[] {
  const names = holdout > 0 ? [HOLDOUT_FILE] : [];
  for (let i = 1; i <= parts; i++) names.push(partFileName(i));
  names.push(SPLIT_SUMMARY_FILE);
  return names;
}

/**
 * Refuses, before any data is read, an output folder the split may not be written to: a file, or the folder of an
 * Arrow source. Only reads; call it before taking the folder's lock (withOutputFolderLock), which creates it.
 */
export async function checkSplitFolder(
  folder: string,
  source: string,
  names: readonly string[],
): Promise<void> {
  const parsed = parseDataSource(source);
  const inputs: RunInput[] = parsed.kind === 'arrow' ? [{ path: parsed.path, role: 'the source data' }] : [];
  await checkOutputFolder(folder, names, inputs);
}

/**
 * Removes the leftovers of a killed run from a checked output folder (checkSplitFolder) whose lock the caller holds,
 * and refuses one that holds anything else. A split is an experiment's fixed input, so an existing one is never
 * silently replaced.
 */
export async function prepareSplitFolder(folder: string): Promise<void> {
  await cleanOutputFolder(folder);
  let present: string[];
  try {
    present = (await readdir(folder)).filter((name) => name !== OUTPUT_LOCK_FILE);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return;
    throw fileSystemError(folder, error, 'list the output folder');
  }
  if (present.length > 0) {
    const shown = present.sort().slice(0, 3).join(', ');
    throw new InvalidFileError(
      folder,
      `is not empty (holds ${shown}${present.length > 3 ? ', …' : ''}); a split is written only into a new or empty folder: remove it or choose another --out`,
    );
  }
}

export interface SplitWriteHooks {
  readonly onStage?: (line: string) => void;
}

function fileSummary(dataset: Dataset, file: string, indices: Int32Array): SplitFileSummary {
  return {
    file,
    examples: indices.length,
    perClass: countPerClass(dataset.labels, indices, dataset.classes),
  };
}

/** Provenance in each Arrow file's metadata, so a part says where it came from when it travels alone. */
function arrowMetadata(
  source: string,
  options: ClassBiasedSplitOptions,
  role: string,
): Record<string, string> {
  return { 'mal.split': JSON.stringify({ source, role, ...options }) };
}

/**
 * Splits `dataset` (loaded from `source`) by the class-biased rule and writes `holdout.arrow` (unless the
 * hold-out is 0), `part-1.arrow` … `part-N.arrow` and split.json into `folder`, published as one set: a reader
 * sees all of them or none (src/io/output-set.ts). Call prepareSplitFolder first, under the same lock.
 */
export async function writeSplitFolder(
  folder: string,
  dataset: Dataset,
  source: string,
  options: ClassBiasedSplitOptions,
  hooks: SplitWriteHooks = {},
): Promise<SplitSummary> {
  hooks.onStage?.(`splitting ${dataset.count} examples into ${options.parts} parts`);
  const split: ClassBiasedSplit = classBiasedSplit(dataset.labels, dataset.classes, options);
  const names = splitFileNames(options.parts, options.holdout);
  const set = await stageOutputSet(folder);
  try {
    const write = async (file: string, indices: Int32Array, role: string): Promise<void> => {
      hooks.onStage?.(`writing ${file} (${indices.length} examples)`);
      const subset = datasetSubset(dataset, indices, `${source} ${role}`);
      await writeFileAtomic(
        set.path(file),
        datasetToArrowIPC(subset, { metadata: arrowMetadata(source, options, role) }),
      );
    };
    if (options.holdout > 0) await write(HOLDOUT_FILE, split.holdout, 'holdout');
    for (const [i, indices] of split.parts.entries()) {
      await write(partFileName(i + 1), indices, `part ${i + 1} of ${options.parts}`);
    }
    const all = Int32Array.from(dataset.labels.keys());
    const summary: SplitSummary = {
      version: SPLIT_SUMMARY_VERSION,
      command: 'mal data split',
      source,
      options: { parts: options.parts, bias: options.bias, holdout: options.holdout, seed: options.seed },
      classes: dataset.classes,
      ...(dataset.classNames === undefined ? {} : { classNames: dataset.classNames }),
      sourceExamples: dataset.count,
      sourcePerClass: countPerClass(dataset.labels, all, dataset.classes),
      ...(options.holdout > 0 ? { holdout: fileSummary(dataset, HOLDOUT_FILE, split.holdout) } : {}),
      parts: split.parts.map((indices, i) => ({
        ...fileSummary(dataset, partFileName(i + 1), indices),
        ownClasses: split.groups[i],
      })),
    };
    await writeFileAtomic(set.path(SPLIT_SUMMARY_FILE), `${readableJson(summary)}\n`);
    await set.publish(names);
    return summary;
  } catch (error) {
    await set.discard();
    throw error;
  }
}
