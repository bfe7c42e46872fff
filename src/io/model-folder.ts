import { writeFileAtomic } from './atomic-file.js';
import { checkNoForeignModelFiles } from './foreign-model-files.js';
import { type ModelOutput, type ModelOutputLayout, modelOutputLayout } from './model-output.js';
import { withOutputFolderLock } from './output-folder-lock.js';
import { cleanOutputFolder, publishedNames, stageOutputSet } from './output-set.js';
import type { TensorEntry } from './safetensors-writer.js';

/** The model file names of Hugging Face's save_pretrained, and the config a loader needs beside them. */
export const MODEL_STEM = 'model';
export const MODEL_CONFIG_FILE = 'config.json';

export interface ModelFolderOptions {
  readonly maxShardBytes: number;
  /** config.json to publish beside the tensors, as bytes (the base's, copied). */
  readonly config?: Uint8Array;
}

export interface PublishedModelFolder<T> {
  readonly result: T;
  readonly layout: ModelOutputLayout;
  /** Every name published in the folder: the model's files and config.json when given. */
  readonly names: readonly string[];
}

/** A model folder's files, known before anything is written: checked against the run's inputs first. */
export function modelFolderNames(
  folder: string,
  tensors: readonly TensorEntry[],
  options: ModelFolderOptions,
): string[] {
  const layout = modelOutputLayout(modelOutputIn(folder, options), tensors);
  return [...layout.names, ...(options.config === undefined ? [] : [MODEL_CONFIG_FILE])];
}

function modelOutputIn(folder: string, options: ModelFolderOptions): ModelOutput {
  return { kind: 'folder', folder, stem: MODEL_STEM, maxShardBytes: options.maxShardBytes };
}

/**
 * Writes a model into `folder` as Hugging Face lays it out (model.safetensors, or shards and
 * model.safetensors.index.json; config.json beside them) and publishes its files as one set
 * (src/io/output-set.ts): readers see the previous model or this one, never a mix, and links of an earlier set
 * this one lacks (old shards) are removed. `write` writes exactly `tensors` to the output it is given. If anything
 * fails nothing is published, no shard is left, and a folder this call created is removed again. The folder is
 * locked throughout (src/io/output-folder-lock.ts): while another process writes to it, this fails at once.
 */
export async function publishModelFolder<T>(
  folder: string,
  tensors: readonly TensorEntry[],
  options: ModelFolderOptions,
  write: (output: ModelOutput) => Promise<T>,
): Promise<PublishedModelFolder<T>> {
  return withOutputFolderLock(folder, async () => {
    await cleanOutputFolder(folder);
    const names = modelFolderNames(folder, tensors, options);
    await checkNoForeignModelFiles(folder, MODEL_STEM, names);
    const set = await stageOutputSet(folder);
    try {
      const output = modelOutputIn(set.folder, options);
      const result = await write(output);
      if (options.config !== undefined) await writeFileAtomic(set.path(MODEL_CONFIG_FILE), options.config);
      await set.publish(names, await publishedNames(folder));
      return { result, layout: modelOutputLayout(output, tensors), names };
    } catch (error) {
      await set.discard();
      throw error;
    }
  });
}
