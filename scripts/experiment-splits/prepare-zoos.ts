/**
 * The inputs of one replicate: its class-biased split and the models trained on it, through the CLI
 * (`mal data split`, `mal zoo train`). What is already there is kept: a split with its split.json, a model with
 * its manifest entry, as long as it was made with the options asked for now.
 */
import { join } from 'node:path';
import { MalError } from '../../src/errors.js';
import { HOLDOUT, type ModelToTrain, type ReplicateLayout, SPLIT_BIAS, splitSeed } from './design.js';
import { readJsonIfPresent } from './json-file.js';
import type { MalRunner } from './mal-process.js';

/** A cached split or model was made with other options than the experiment asks for now. */
export class StaleExperimentFileError extends MalError {
  override readonly name = 'StaleExperimentFileError';
}

export type Progress = (line: string) => void;

export async function prepareSplit(
  layout: ReplicateLayout,
  mal: MalRunner,
  progress: Progress,
): Promise<void> {
  const summaryFile = join(layout.splitFolder, 'split.json');
  const summary = await readJsonIfPresent(summaryFile);
  const seed = splitSeed(layout.setting, layout.seed);
  if (summary !== undefined) {
    const options = (summary as { options?: { parts?: number; seed?: number } }).options;
    if (options?.parts !== layout.setting.parts || options?.seed !== seed)
      throw new StaleExperimentFileError(
        `${summaryFile}: this split has ${options?.parts} parts and seed ${options?.seed}, the experiment wants ${layout.setting.parts} and ${seed}; remove ${layout.folder} to redo this replicate`,
      );
    progress(`${layout.label}: split already there`);
    return;
  }
  progress(`${layout.label}: splitting fashion-mnist:train into ${layout.setting.parts} parts`);
  await mal.check([
    'data',
    'split',
    'fashion-mnist:train',
    '--parts',
    String(layout.setting.parts),
    '--bias',
    String(SPLIT_BIAS),
    '--holdout',
    String(HOLDOUT),
    '--seed',
    String(seed),
    '--out',
    layout.splitFolder,
  ]);
}

/** Trains every model of the replicate that its zoo does not hold yet; returns how many were trained. */
export async function trainModels(
  layout: ReplicateLayout,
  epochs: number,
  mal: MalRunner,
  progress: Progress,
): Promise<number> {
  const models = layout.models();
  let trained = 0;
  for (const [index, model] of models.entries()) {
    const counter = `${layout.label}: model ${index + 1}/${models.length} ${model.id}`;
    const entry = await manifestEntry(model);
    if (entry !== undefined) {
      checkCachedModel(model, entry, epochs);
      progress(`${counter} already trained`);
      continue;
    }
    progress(`${counter}: training ${epochs} epochs on part ${model.part} (seed ${model.seed})`);
    const started = performance.now();
    await mal.check([
      'zoo',
      'train',
      '--zoo',
      model.zoo,
      '--id',
      model.id,
      '--arch',
      'mlp',
      '--hidden',
      `${model.width},${model.width}`,
      '--data',
      layout.part(model.part),
      '--epochs',
      String(epochs),
      '--seed',
      String(model.seed),
      // Measured on the objective data, not the test set: nothing in the zoo should have seen the test set.
      '--eval',
      layout.holdout,
    ]);
    progress(`${counter}: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    trained++;
  }
  return trained;
}

interface ManifestEntry {
  readonly id: string;
  readonly seed?: number;
  readonly provenance?: { readonly options?: { readonly epochs?: number; readonly hidden?: number[] } };
}

async function manifestEntry(model: ModelToTrain): Promise<ManifestEntry | undefined> {
  const manifest = await readJsonIfPresent(join(model.zoo, 'zoo.json'));
  const entries = (manifest as { models?: ManifestEntry[] } | undefined)?.models ?? [];
  return entries.find((e) => e.id === model.id);
}

function checkCachedModel(model: ModelToTrain, entry: ManifestEntry, epochs: number): void {
  const options = entry.provenance?.options;
  const hidden = options?.hidden?.join(',');
  if (entry.seed !== model.seed || options?.epochs !== epochs || hidden !== `${model.width},${model.width}`)
    throw new StaleExperimentFileError(
      `${join(model.zoo, 'zoo.json')}: model '${model.id}' was trained with seed ${entry.seed}, ${options?.epochs} epochs, hidden ${hidden}; the experiment wants seed ${model.seed}, ${epochs} epochs, hidden ${model.width},${model.width}. Remove the replicate's folder (or set EXPERIMENT_EPOCHS to ${options?.epochs}) and run again`,
    );
}
