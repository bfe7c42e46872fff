import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { InvalidFileError, MalError } from '../errors.js';
import { faultPoint } from '../io/fault-injection.js';
import { openModel, readModelConfig } from '../io/open-model.js';
import { describeModel } from './describe-model.js';
import { hashModel, modelTensorFiles } from './model-hash.js';
import { ZooError } from './zoo-errors.js';
import { onZooPath, zooFileError } from './zoo-file-error.js';
import { withZooLock } from './zoo-lock.js';
import {
  emptyZooManifest,
  isValidZooId,
  readZooManifest,
  writeZooManifest,
  type ZooEntry,
  type ZooManifest,
  type ZooMetric,
  type ZooProvenance,
  zooManifestPath,
} from './zoo-manifest.js';
import { type ZooModelFacts, zooFactsFromMetadata } from './zoo-model-metadata.js';
import { assertStaysInFolder, resolveZooModel } from './zoo-paths.js';
import { removeDeadTemporaries } from './zoo-temporaries.js';

/** Where the zoo keeps the files it holds, relative to the zoo folder. */
export const ZOO_MODELS_FOLDER = 'models';

export interface Zoo {
  /** The zoo folder, absolute. */
  readonly dir: string;
  readonly manifest: ZooManifest;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw zooFileError(path, error, 'look at this path');
  }
}

/**
 * Opens a zoo folder. With `create`, a missing folder or manifest becomes an empty zoo (the commands that add
 * models create zoos; the ones that read them do not, so a mistyped `--zoo` is reported, not created).
 */
export async function openZoo(dir: string, options: { readonly create?: boolean } = {}): Promise<Zoo> {
  const absolute = resolve(dir);
  if (options.create === true && !(await exists(zooManifestPath(absolute)))) {
    await onZooPath(absolute, 'create the zoo folder', () => mkdir(absolute, { recursive: true }));
    await withZooLock(absolute, async () => {
      if (!(await exists(zooManifestPath(absolute)))) await writeZooManifest(absolute, emptyZooManifest());
    });
  }
  return { dir: absolute, manifest: await readZooManifest(absolute) };
}

/**
 * The zoo a new model goes into: the folder's zoo, or, where the folder holds none yet, an empty one that exists
 * only in memory until appendZooEntry records its first model. A command refused for bad input then leaves no
 * folder or empty manifest behind.
 */
export async function openZooToAddTo(dir: string): Promise<Zoo> {
  const absolute = resolve(dir);
  if (!(await exists(zooManifestPath(absolute)))) return { dir: absolute, manifest: emptyZooManifest() };
  return { dir: absolute, manifest: await readZooManifest(absolute) };
}

export function findZooEntry(zoo: Zoo, id: string): ZooEntry {
  const entry = zoo.manifest.models.find((m) => m.id === id);
  if (entry === undefined) {
    const ids = zoo.manifest.models.map((m) => m.id);
    throw new ZooError(
      `${zooManifestPath(zoo.dir)}: no model with id '${id}'` +
        (ids.length === 0 ? ' (the zoo is empty)' : ` (ids: ${ids.join(', ')})`),
    );
  }
  return entry;
}

/** The absolute path of an entry's model (folder or file). */
export function zooModelPath(zoo: Zoo, entry: ZooEntry): string {
  return resolve(zoo.dir, entry.path);
}

/** The file `mal zoo train` writes a model with this id to, relative to the zoo folder. */
export function trainedModelPath(id: string): string {
  return `${ZOO_MODELS_FOLDER}/${id}.safetensors`;
}

/** Refuses an invalid or taken id, before any work (training, copying) is spent on a model that cannot be added. */
export function assertZooIdFree(zoo: Zoo, id: string): void {
  if (!isValidZooId(id)) {
    throw new ZooError(`model id must be letters, digits, '.', '_' or '-' (not first), got '${id}'`);
  }
  if (zoo.manifest.models.some((m) => m.id === id)) {
    throw new ZooError(
      `${zooManifestPath(zoo.dir)}: the zoo already has a model with id '${id}'; pick another --id`,
    );
  }
}

/**
 * Appends an entry to the manifest under the zoo's lock, re-reading the manifest first so additions by other
 * commands since this one opened the zoo are kept. Returns the zoo as it now is.
 */
export async function appendZooEntry(zoo: Zoo, entry: ZooEntry): Promise<Zoo> {
  // The zoo's first model creates it (openZooToAddTo).
  await onZooPath(zoo.dir, 'create the zoo folder', () => mkdir(zoo.dir, { recursive: true }));
  return withZooLock(zoo.dir, async () => {
    const manifest = (await exists(zooManifestPath(zoo.dir)))
      ? await readZooManifest(zoo.dir)
      : emptyZooManifest();
    const current: Zoo = { dir: zoo.dir, manifest };
    assertZooIdFree(current, entry.id);
    const added: ZooManifest = { ...current.manifest, models: [...current.manifest.models, entry] };
    await writeZooManifest(zoo.dir, added);
    return { dir: zoo.dir, manifest: added };
  });
}

/** An entry for a model already in place: hashes its files and derives its spec (or records why it cannot). */
export async function describeZooEntry(
  zoo: Zoo,
  relativePath: string,
  fields: {
    readonly id: string;
    readonly dataset?: string;
    readonly classes?: readonly number[];
    readonly seed?: number;
    readonly metrics: { readonly [source: string]: ZooMetric };
    readonly provenance: ZooProvenance;
  },
): Promise<ZooEntry> {
  const absolute = resolve(zoo.dir, relativePath);
  const { sha256 } = await hashModel(absolute);
  const description = await describeModel(absolute);
  const common = {
    id: fields.id,
    path: relativePath,
    sha256,
    ...(fields.dataset === undefined ? {} : { dataset: fields.dataset }),
    ...(fields.classes === undefined ? {} : { classes: fields.classes }),
    ...(fields.seed === undefined ? {} : { seed: fields.seed }),
    metrics: fields.metrics,
    provenance: fields.provenance,
  };
  return description.readable
    ? { ...common, readable: true, family: description.family, widths: description.widths }
    : { ...common, readable: false, reason: description.reason };
}

export interface AddModelOptions {
  /** Defaults to the metadata's `zoo_id`, else the file (or folder) name without `.safetensors`. */
  readonly id?: string;
  /** Reference the files where they are instead of copying them into the zoo. */
  readonly link?: boolean;
  /** Override what the model's metadata says (or fill in what it does not). */
  readonly dataset?: string;
  readonly classes?: readonly number[];
  readonly seed?: number;
  /** Time stamp for the provenance; the current time by default. */
  readonly now?: Date;
}

/** The id a model would get from its file name: `foo.safetensors` → `foo`, with odd characters made `-`. */
export function idFromPath(path: string): string {
  const name = basename(resolve(path))
    .replace(/\.safetensors(\.index\.json)?$/, '')
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .replace(/^[._-]+/, '');
  return name === '' ? 'model' : name;
}

async function readMetadataFacts(path: string): Promise<ZooModelFacts & { readonly zooId?: string }> {
  try {
    const source = await openModel(path);
    try {
      return { ...zooFactsFromMetadata(source.metadata), zooId: source.metadata.zoo_id };
    } finally {
      await source.close();
    }
  } catch (error) {
    // An unreadable model has no metadata to offer; describeZooEntry records why it is unreadable.
    if (error instanceof MalError) return {};
    throw error;
  }
}

/** Staging folder inside the models folder (so the final rename stays on one file system), named with our pid. */
export function stagingPath(modelsDir: string, id: string): string {
  return join(modelsDir, `.${id}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/** A model copied into a staging folder, not yet published under its final name. */
export interface StagedModel {
  /** The staging folder; removed once the model is published or refused. */
  readonly staging: string;
  /** The staged model itself: the staging folder (a folder model) or the one file inside it. */
  readonly payload: string;
  /** Where the model is published, absolute. */
  readonly target: string;
}

/** Makes a copied file durable before it is published, so a crash after the rename cannot leave it empty. */
async function syncFile(path: string): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Copies a model into a staging folder under `<zoo>/models/`: a lone .safetensors file is to become
 * `models/<id>.safetensors`; a sharded model or one with a config.json beside it the folder `models/<id>/` with the
 * same file names. Files found inside a model folder (shards, config.json) must be regular files in that folder:
 * a symbolic link out of it is refused, never followed into the zoo.
 */
async function stageModelCopy(zoo: Zoo, source: string, id: string): Promise<StagedModel> {
  const { sharded, files } = await modelTensorFiles(source);
  const config = await readModelConfig(source);
  const modelsDir = join(zoo.dir, ZOO_MODELS_FOLDER);
  await onZooPath(modelsDir, 'create the models folder', () => mkdir(modelsDir, { recursive: true }));
  const asFolder = sharded || config !== undefined;
  const target = asFolder ? join(modelsDir, id) : join(zoo.dir, trainedModelPath(id));
  const sourceIsFolder = (await onZooPath(source, 'read the model', () => stat(source))).isDirectory();
  const folder = sourceIsFolder ? source : dirname(source);
  const toCopy = config === undefined ? files : [...files, join(folder, 'config.json')];
  for (const file of toCopy) {
    // The file the user named is theirs to point anywhere; what the folder (or index) leads to must stay inside.
    if (file !== source) await assertStaysInFolder(folder, file);
  }
  const staging = stagingPath(modelsDir, id);
  const payload = asFolder ? staging : join(staging, basename(target));
  try {
    faultPoint('zoo add 1');
    await onZooPath(staging, 'stage the copy', () => mkdir(staging));
    for (const file of toCopy) {
      const copy = asFolder ? join(staging, basename(file)) : payload;
      faultPoint('zoo add 2');
      await onZooPath(copy, `copy ${file} into the zoo`, async () => {
        await copyFile(file, copy);
        await syncFile(copy);
      });
    }
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  return { staging, payload, target };
}

/** What `addModelToZoo` did: added the entry, or found the same bytes already in the zoo under that id. */
export interface ZooAddition {
  readonly entry: ZooEntry;
  /** False when the zoo already held this model (same id, same hash): nothing was changed. */
  readonly added: boolean;
}

/** The files already at an entry's path hash to what the entry (or a new one) says. */
async function holdsHash(path: string, sha256: string): Promise<boolean> {
  try {
    return (await hashModel(path)).sha256 === sha256;
  } catch (error) {
    if (error instanceof MalError) return false;
    throw error;
  }
}

/**
 * Adds an existing model to the zoo (copied, or referenced with `link`). A model the project cannot read (a bad
 * header, tensors that fit no known family) is still added, as `readable: false` with the reason: the zoo lists
 * what it was given. A path that does not exist at all is an error.
 *
 * A copy is staged and described (hashed) outside the zoo's lock, then published under it: the id is checked
 * against the manifest as it is now, the staged folder renamed into place, and the manifest written. Two adds of
 * one id cannot both win: the second finds the first's entry and fails, or, when its bytes are the same, does
 * nothing. An add killed between the rename and the manifest write leaves the model without an entry; the
 * next add of the same bytes adopts it (other bytes there are refused, never overwritten), and temporaries of
 * killed adds are removed when the next one starts.
 */
export async function addModelToZoo(
  zoo: Zoo,
  source: string,
  options: AddModelOptions = {},
): Promise<ZooAddition> {
  const absoluteSource = resolve(source);
  if (!(await exists(absoluteSource))) throw new InvalidFileError(source, 'no such file or folder');
  const facts = await readMetadataFacts(absoluteSource);
  const id =
    options.id ?? (facts.zooId !== undefined && isValidZooId(facts.zooId) ? facts.zooId : idFromPath(source));
  await removeDeadTemporaries(zoo.dir, ZOO_MODELS_FOLDER);
  const taken = zoo.manifest.models.find((m) => m.id === id);
  if (taken === undefined || !isValidZooId(id)) assertZooIdFree(zoo, id);
  else if (taken.sha256 === (await hashModel(absoluteSource)).sha256) {
    // The same bytes under the same id: nothing to do, once the zoo's own copy is checked to hold them.
    if (await holdsHash(resolve(zoo.dir, taken.path), taken.sha256)) return { entry: taken, added: false };
  } else assertZooIdFree(zoo, id);
  const link = options.link === true;
  const fields = {
    id,
    dataset: options.dataset ?? facts.dataset,
    classes: options.classes ?? facts.classes,
    seed: options.seed ?? facts.seed,
    metrics: facts.metrics ?? {},
    provenance: {
      kind: 'added',
      from: absoluteSource,
      at: (options.now ?? new Date()).toISOString(),
      link,
    },
  } as const;
  if (link) {
    const entry = await describeZooEntry(zoo, relative(zoo.dir, absoluteSource), fields);
    return publishEntry(zoo, entry, undefined);
  }
  const staged = await stageModelCopy(zoo, absoluteSource, id);
  try {
    const described = await describeZooEntry(zoo, relative(zoo.dir, staged.payload), fields);
    // The staging name is gone once published: a reason that quotes it names the final path instead.
    const entry: ZooEntry = described.readable
      ? { ...described, path: relative(zoo.dir, staged.target) }
      : {
          ...described,
          path: relative(zoo.dir, staged.target),
          reason: described.reason.replaceAll(staged.payload, staged.target),
        };
    return await publishEntry(zoo, entry, staged);
  } finally {
    await rm(staged.staging, { recursive: true, force: true });
  }
}

/** Under the zoo's lock: checks the id against the manifest as it is now, moves the copy into place, adds the entry. */
export async function publishEntry(
  zoo: Zoo,
  entry: ZooEntry,
  staged: StagedModel | undefined,
): Promise<ZooAddition> {
  return withZooLock(zoo.dir, async () => {
    const current: Zoo = { dir: zoo.dir, manifest: await readZooManifest(zoo.dir) };
    const existing = current.manifest.models.find((m) => m.id === entry.id);
    if (existing !== undefined) {
      if (
        existing.sha256 === entry.sha256 &&
        (await holdsHash(resolve(zoo.dir, existing.path), existing.sha256))
      ) {
        return { entry: existing, added: false };
      }
      assertZooIdFree(current, entry.id);
    }
    if (staged !== undefined) {
      if (await exists(staged.target)) {
        // Left by an add killed before its manifest write: the same bytes are adopted, other bytes never replaced.
        if (!(await holdsHash(staged.target, entry.sha256))) {
          throw new ZooError(
            `${staged.target} already exists but no zoo entry names it, and it holds other bytes; ` +
              'move it away or pick another --id',
          );
        }
      } else {
        faultPoint('zoo add 3');
        await onZooPath(staged.target, 'move the copy into place', () =>
          rename(staged.payload, staged.target),
        );
        faultPoint('zoo add 4');
      }
    }
    const manifest: ZooManifest = { ...current.manifest, models: [...current.manifest.models, entry] };
    await writeZooManifest(zoo.dir, manifest);
    return { entry, added: true };
  });
}

/** `refused`: the manifest's path leaves the zoo, or leads to something that is not a regular file. */
export type VerifyStatus = 'ok' | 'changed' | 'missing' | 'refused';

export interface VerifyResult {
  readonly id: string;
  readonly status: VerifyStatus;
  readonly expected: string;
  /** The hash found now; absent when the files are missing. */
  readonly actual?: string;
  /** Why the files could not be hashed. */
  readonly detail?: string;
}

/** Re-hashes every model (or the ones named) and compares with the manifest. */
export async function verifyZoo(zoo: Zoo, ids?: readonly string[]): Promise<VerifyResult[]> {
  const entries = ids === undefined ? zoo.manifest.models : ids.map((id) => findZooEntry(zoo, id));
  const results: VerifyResult[] = [];
  for (const entry of entries) {
    let path: string;
    try {
      path = await resolveZooModel(zoo.dir, entry);
    } catch (error) {
      if (!(error instanceof MalError)) throw error;
      const status = error instanceof ZooError ? 'refused' : 'missing';
      results.push({ id: entry.id, status, expected: entry.sha256, detail: error.message });
      continue;
    }
    try {
      const { sha256 } = await hashModel(path);
      results.push({
        id: entry.id,
        status: sha256 === entry.sha256 ? 'ok' : 'changed',
        expected: entry.sha256,
        actual: sha256,
      });
    } catch (error) {
      if (!(error instanceof MalError)) throw error;
      results.push({ id: entry.id, status: 'missing', expected: entry.sha256, detail: error.message });
    }
  }
  return results;
}
