import { join } from 'node:path';
import { StagedFile, writeFully } from '../io/atomic-file.js';
import { faultPoint } from '../io/fault-injection.js';
import { readRegularFile } from '../io/read-regular-file.js';
import type { ArchitectureFamily } from '../spec/architecture-spec.js';
import { readableJson } from './readable-json.js';
import { ZooManifestError } from './zoo-errors.js';
import { onZooPath, zooFileError } from './zoo-file-error.js';
import { isLinked, manifestPathProblem } from './zoo-paths.js';

/** The manifest's file name inside a zoo folder. */
export const ZOO_MANIFEST_FILE = 'zoo.json';
export const ZOO_MANIFEST_VERSION = 1;

const FAMILIES: readonly ArchitectureFamily[] = ['mlp', 'cnn', 'resnet', 'gpt2', 'llama', 'custom'];

/** Ids name files and appear in lineages, so they stay plain: no separators, no leading dot. */
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const SHA256_PATTERN = /^[0-9a-f]{64}$/;

export type JsonValue =
  | string
  | number
  | boolean
  | null
  | readonly JsonValue[]
  | { readonly [k: string]: JsonValue };

/** Loss and accuracy of a model on one named data source (`fashion-mnist:test`). */
export interface ZooMetric {
  readonly loss: number;
  readonly accuracy: number;
  /** How many examples the numbers were measured on, when known. */
  readonly examples?: number;
}

export interface TrainedProvenance {
  readonly kind: 'trained';
  /** The command that trained it, `mal zoo train`. */
  readonly command: string;
  /** Every option the command ran with, defaults included, so the model can be trained again. */
  readonly options: { readonly [k: string]: JsonValue };
  /** ISO 8601 time the model was added. */
  readonly at: string;
  /** Wall-clock training time. */
  readonly seconds: number;
  /** The compute backend that trained it, as `describeBackend` words it. */
  readonly backend?: string;
}

export interface AddedProvenance {
  readonly kind: 'added';
  /** The path the model was added from, absolute. */
  readonly from: string;
  readonly at: string;
  /** True when the zoo references the files where they are instead of holding a copy. */
  readonly link: boolean;
}

export type ZooProvenance = TrainedProvenance | AddedProvenance;

interface ZooEntryCommon {
  /** Stable name, e.g. `mlp-h256-s1-fmnist`; unique in the zoo. */
  readonly id: string;
  /** A model folder or .safetensors file (or shard index), relative to the zoo folder. */
  readonly path: string;
  /** Content hash of the tensor files (see model-hash.ts). */
  readonly sha256: string;
  /** The data source it was trained on (`fashion-mnist:train`), when known. */
  readonly dataset?: string;
  /** The data set's class indices its outputs stand for, in output order, when known. */
  readonly classes?: readonly number[];
  readonly seed?: number;
  /** Keyed by data source, in the order they were measured; the first is the one listings show. */
  readonly metrics: { readonly [source: string]: ZooMetric };
  readonly provenance: ZooProvenance;
}

export interface ReadableZooEntry extends ZooEntryCommon {
  readonly readable: true;
  readonly family: ArchitectureFamily;
  /** Width of every space of the derived spec, in network order. */
  readonly widths: { readonly [space: string]: number };
}

/** A model the project cannot read: kept in the zoo with the reason, so it is never silently dropped. */
export interface UnreadableZooEntry extends ZooEntryCommon {
  readonly readable: false;
  /** The file or spec error that stopped it. */
  readonly reason: string;
}

export type ZooEntry = ReadableZooEntry | UnreadableZooEntry;

export interface ZooManifest {
  readonly version: number;
  readonly models: readonly ZooEntry[];
}

export function emptyZooManifest(): ZooManifest {
  return { version: ZOO_MANIFEST_VERSION, models: [] };
}

export function isValidZooId(id: string): boolean {
  return ID_PATTERN.test(id);
}

export function zooManifestPath(zooDir: string): string {
  return join(zooDir, ZOO_MANIFEST_FILE);
}

/** Field-by-field checks of untrusted JSON; every failure names the file and the JSON path of the field. */
class FieldReader {
  constructor(readonly file: string) {}

  fail(field: string, detail: string): never {
    throw new ZooManifestError(this.file, field, detail);
  }

  object(value: unknown, field: string): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.fail(field, `must be an object, got ${describe(value)}`);
    }
    return value as Record<string, unknown>;
  }

  string(value: unknown, field: string): string {
    if (typeof value !== 'string' || value === '')
      this.fail(field, `must be a non-empty string, got ${describe(value)}`);
    return value;
  }

  number(value: unknown, field: string): number {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      this.fail(field, `must be a finite number, got ${describe(value)}`);
    }
    return value;
  }

  integer(value: unknown, field: string, min: number): number {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
      this.fail(field, `must be an integer ≥ ${min}, got ${describe(value)}`);
    }
    return value;
  }

  boolean(value: unknown, field: string): boolean {
    if (typeof value !== 'boolean') this.fail(field, `must be true or false, got ${describe(value)}`);
    return value;
  }

  onlyKeys(object: Record<string, unknown>, field: string, allowed: readonly string[]): void {
    for (const key of Object.keys(object)) {
      if (!allowed.includes(key)) {
        this.fail(childField(field, key), `unknown field (expected one of ${allowed.join(', ')})`);
      }
    }
  }
}

function childField(parent: string, key: string): string {
  return parent === '' ? key : `${parent}.${key}`;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return JSON.stringify(value);
}

function isJsonValue(value: unknown): value is JsonValue {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every(isJsonValue);
  if (typeof value === 'object') return Object.values(value as object).every(isJsonValue);
  return false;
}

function readMetric(r: FieldReader, value: unknown, field: string): ZooMetric {
  const o = r.object(value, field);
  r.onlyKeys(o, field, ['loss', 'accuracy', 'examples']);
  const loss = r.number(o.loss, `${field}.loss`);
  const accuracy = r.number(o.accuracy, `${field}.accuracy`);
  if (accuracy < 0 || accuracy > 1) r.fail(`${field}.accuracy`, `must be in [0, 1], got ${accuracy}`);
  if (o.examples === undefined) return { loss, accuracy };
  return { loss, accuracy, examples: r.integer(o.examples, `${field}.examples`, 0) };
}

function readProvenance(r: FieldReader, value: unknown, field: string): ZooProvenance {
  const o = r.object(value, field);
  const at = r.string(o.at, `${field}.at`);
  if (Number.isNaN(Date.parse(at)))
    r.fail(`${field}.at`, `must be an ISO 8601 time, got ${JSON.stringify(at)}`);
  if (o.kind === 'trained') {
    r.onlyKeys(o, field, ['kind', 'command', 'options', 'at', 'seconds', 'backend']);
    const options = r.object(o.options, `${field}.options`);
    for (const [key, option] of Object.entries(options)) {
      if (!isJsonValue(option)) r.fail(`${field}.options.${key}`, 'must be a JSON value');
    }
    const seconds = r.number(o.seconds, `${field}.seconds`);
    if (seconds < 0) r.fail(`${field}.seconds`, `must be ≥ 0, got ${seconds}`);
    const provenance: TrainedProvenance = {
      kind: 'trained',
      command: r.string(o.command, `${field}.command`),
      options: options as { [k: string]: JsonValue },
      at,
      seconds,
    };
    return o.backend === undefined
      ? provenance
      : { ...provenance, backend: r.string(o.backend, `${field}.backend`) };
  }
  if (o.kind === 'added') {
    r.onlyKeys(o, field, ['kind', 'from', 'at', 'link']);
    return {
      kind: 'added',
      from: r.string(o.from, `${field}.from`),
      at,
      link: r.boolean(o.link, `${field}.link`),
    };
  }
  return r.fail(`${field}.kind`, `must be 'trained' or 'added', got ${describe(o.kind)}`);
}

const COMMON_KEYS = [
  'id',
  'path',
  'sha256',
  'dataset',
  'classes',
  'seed',
  'metrics',
  'provenance',
  'readable',
];

function readEntry(r: FieldReader, value: unknown, field: string): ZooEntry {
  const o = r.object(value, field);
  const id = r.string(o.id, `${field}.id`);
  if (!isValidZooId(id)) {
    r.fail(`${field}.id`, `must be letters, digits, '.', '_' or '-' (not first), got ${JSON.stringify(id)}`);
  }
  const path = r.string(o.path, `${field}.path`);
  const sha256 = r.string(o.sha256, `${field}.sha256`);
  if (!SHA256_PATTERN.test(sha256)) r.fail(`${field}.sha256`, 'must be 64 lowercase hexadecimal digits');
  const metricsObject = r.object(o.metrics, `${field}.metrics`);
  const metrics: Record<string, ZooMetric> = {};
  for (const [source, metric] of Object.entries(metricsObject)) {
    metrics[source] = readMetric(r, metric, `${field}.metrics.${source}`);
  }
  let classes: number[] | undefined;
  if (o.classes !== undefined) {
    if (!Array.isArray(o.classes) || o.classes.length === 0) {
      r.fail(`${field}.classes`, `must be a non-empty array of class indices, got ${describe(o.classes)}`);
    }
    classes = o.classes.map((c, i) => r.integer(c, `${field}.classes[${i}]`, 0));
    if (new Set(classes).size !== classes.length) r.fail(`${field}.classes`, 'lists a class twice');
  }
  const common = {
    id,
    path,
    sha256,
    ...(o.dataset === undefined ? {} : { dataset: r.string(o.dataset, `${field}.dataset`) }),
    ...(classes === undefined ? {} : { classes }),
    ...(o.seed === undefined ? {} : { seed: r.integer(o.seed, `${field}.seed`, 0) }),
    metrics,
    provenance: readProvenance(r, o.provenance, `${field}.provenance`),
  };
  const pathProblem = manifestPathProblem(path, isLinked(common));
  if (pathProblem !== undefined) r.fail(`${field}.path`, pathProblem);
  const readable = r.boolean(o.readable, `${field}.readable`);
  if (!readable) {
    r.onlyKeys(o, field, [...COMMON_KEYS, 'reason']);
    return { ...common, readable: false, reason: r.string(o.reason, `${field}.reason`) };
  }
  r.onlyKeys(o, field, [...COMMON_KEYS, 'family', 'widths']);
  const family = r.string(o.family, `${field}.family`);
  if (!(FAMILIES as readonly string[]).includes(family)) {
    r.fail(`${field}.family`, `must be one of ${FAMILIES.join(', ')}, got ${JSON.stringify(family)}`);
  }
  const widthsObject = r.object(o.widths, `${field}.widths`);
  const widths: Record<string, number> = {};
  for (const [space, width] of Object.entries(widthsObject)) {
    widths[space] = r.integer(width, `${field}.widths.${space}`, 0);
  }
  if (Object.keys(widths).length === 0) r.fail(`${field}.widths`, 'lists no spaces');
  return { ...common, readable: true, family: family as ArchitectureFamily, widths };
}

/** Checks parsed JSON as a manifest; `file` only names the source in error messages. */
export function parseZooManifest(json: unknown, file: string): ZooManifest {
  const r: FieldReader = new FieldReader(file);
  const o = r.object(json, '');
  r.onlyKeys(o, '', ['version', 'models']);
  const version = r.integer(o.version, 'version', 1);
  if (version !== ZOO_MANIFEST_VERSION) {
    r.fail(
      'version',
      `this program reads version ${ZOO_MANIFEST_VERSION}, the manifest is version ${version}`,
    );
  }
  if (!Array.isArray(o.models)) r.fail('models', `must be an array, got ${describe(o.models)}`);
  const models = o.models.map((entry, i) => readEntry(r, entry, `models[${i}]`));
  const seen = new Map<string, number>();
  models.forEach((entry, i) => {
    const first = seen.get(entry.id);
    if (first !== undefined) r.fail(`models[${i}].id`, `'${entry.id}' is already the id of models[${first}]`);
    seen.set(entry.id, i);
  });
  return { version, models };
}

/** Reads and validates `<zooDir>/zoo.json`. */
export async function readZooManifest(zooDir: string): Promise<ZooManifest> {
  const file = zooManifestPath(zooDir);
  let text: string;
  try {
    text = await readRegularFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ZooManifestError(
        file,
        '',
        "no such file; create a zoo with 'mal zoo train' or 'mal zoo add'",
      );
    }
    throw zooFileError(file, error, 'read the zoo manifest');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ZooManifestError(file, '', `not valid JSON (${(error as Error).message})`);
  }
  return parseZooManifest(json, file);
}

/**
 * Replaces `<zooDir>/zoo.json` atomically: readers see the old or the new manifest, never a partial one. The
 * manifest is validated first so a bug cannot write a file the next run refuses.
 */
export async function writeZooManifest(zooDir: string, manifest: ZooManifest): Promise<void> {
  const file = zooManifestPath(zooDir);
  const checked = parseZooManifest(JSON.parse(JSON.stringify(manifest)), file);
  const staged = await StagedFile.create(file);
  try {
    faultPoint('zoo manifest 1');
    await onZooPath(file, 'write the zoo manifest', async () => {
      await writeFully(staged.handle, new TextEncoder().encode(`${readableJson(checked)}\n`), 0);
      await staged.seal();
    });
    faultPoint('zoo manifest 2');
    await onZooPath(file, 'replace the zoo manifest', () => staged.commit());
    faultPoint('zoo manifest 3');
  } catch (error) {
    await staged.discard();
    throw error;
  }
}
