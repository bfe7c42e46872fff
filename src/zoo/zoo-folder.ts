import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { InvalidFileError, MalError } from '../errors.js';
import { openModel, readModelConfig } from '../io/open-model.js';
import { describeModel } from './describe-model.js';
import { hashModel, modelTensorFiles } from './model-hash.js';
import { ZooError } from './zoo-errors.js';
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
    throw error;
  }
}

/**
 * Opens a zoo folder. With `create`, a missing folder or manifest becomes an empty zoo (the commands that add
 * models create zoos; the ones that read them do not, so a mistyped `--zoo` is reported, not created).
 */
export async function openZoo(dir: string, options: { readonly create?: boolean } = {}): Promise<Zoo> {
  const absolute = resolve(dir);
  if (options.create === true && !(await exists(zooManifestPath(absolute)))) {
    await mkdir(absolute, { recursive: true });
    await withZooLock(absolute, async () => {
      if (!(await exists(zooManifestPath(absolute)))) await writeZooManifest(absolute, emptyZooManifest());
    });
  }
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
  return withZooLock(zoo.dir, async () => {
    const current: Zoo = { dir: zoo.dir, manifest: await readZooManifest(zoo.dir) };
    assertZooIdFree(current, entry.id);
    const manifest: ZooManifest = { ...current.manifest, models: [...current.manifest.models, entry] };
    await writeZooManifest(zoo.dir, manifest);
    return { dir: zoo.dir, manifest };
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

/** Temporary name inside the models folder, so the final rename stays on one file system. */
function stagingPath(modelsDir: string, id: string): string {
  return join(modelsDir, `.${id}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/**
 * Copies a model into `<zoo>/models/`: a lone .safetensors file becomes `models/<id>.safetensors`; a sharded model
 * or one with a config.json beside it becomes the folder `models/<id>/` with the same file names. The copy is
 * staged under a temporary name and renamed into place, so a failed copy leaves nothing behind.
 */
async function copyModelIntoZoo(zoo: Zoo, source: string, id: string): Promise<string> {
  const { sharded, files } = await modelTensorFiles(source);
  const config = await readModelConfig(source);
  const modelsDir = join(zoo.dir, ZOO_MODELS_FOLDER);
  await mkdir(modelsDir, { recursive: true });
  const asFolder = sharded || config !== undefined;
  const target = asFolder ? join(modelsDir, id) : join(zoo.dir, trainedModelPath(id));
  if (await exists(target)) {
    throw new ZooError(
      `${target} already exists but no zoo entry names it; move it away or pick another --id`,
    );
  }
  const staging = stagingPath(modelsDir, id);
  try {
    if (asFolder) {
      await mkdir(staging);
      const configFile = join((await stat(source)).isDirectory() ? source : dirname(source), 'config.json');
      const toCopy = config === undefined ? files : [...files, configFile];
      for (const file of toCopy) await copyFile(file, join(staging, basename(file)));
    } else {
      await copyFile(files[0], staging);
    }
    await rename(staging, target);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  return relative(zoo.dir, target);
}

/**
 * Adds an existing model to the zoo (copied, or referenced with `link`). A model the project cannot read (a bad
 * header, tensors that fit no known family) is still added, as `readable: false` with the reason: the zoo lists
 * what it was given. A path that does not exist at all is an error.
 */
export async function addModelToZoo(
  zoo: Zoo,
  source: string,
  options: AddModelOptions = {},
): Promise<ZooEntry> {
  const absoluteSource = resolve(source);
  if (!(await exists(absoluteSource))) throw new InvalidFileError(source, 'no such file or folder');
  const facts = await readMetadataFacts(absoluteSource);
  const id =
    options.id ?? (facts.zooId !== undefined && isValidZooId(facts.zooId) ? facts.zooId : idFromPath(source));
  assertZooIdFree(zoo, id);
  const link = options.link === true;
  const relativePath = link
    ? relative(zoo.dir, absoluteSource)
    : await copyModelIntoZoo(zoo, absoluteSource, id);
  try {
    const entry = await describeZooEntry(zoo, relativePath, {
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
    });
    await appendZooEntry(zoo, entry);
    return entry;
  } catch (error) {
    if (!link) await rm(resolve(zoo.dir, relativePath), { recursive: true, force: true });
    throw error;
  }
}

export type VerifyStatus = 'ok' | 'changed' | 'missing';

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
    try {
      const { sha256 } = await hashModel(zooModelPath(zoo, entry));
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
