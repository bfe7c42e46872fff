import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidFileError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic-file.js';

/**
 * Where assembly keeps states (blobs named by their sha256) and step records (named by the hash of the step's
 * inputs). A folder on one machine (ContentStore); a cluster can put it in a shared object store.
 */
export interface StepStore {
  putBlob(bytes: Uint8Array, extension?: string): Promise<string>;
  getBlob(hash: string, extension?: string): Promise<Uint8Array | undefined>;
  /** Where a blob lives, for messages. */
  blobPath(hash: string, extension?: string): string;
  putRecord(key: string, value: unknown): Promise<void>;
  /**
   * The record under `key`, or undefined when there is none or it is damaged (not JSON, or `isRecord` refuses
   * it): a damaged record is set aside and the step it stood for is computed again, as a damaged blob is.
   */
  getRecord<T>(key: string, isRecord?: (value: unknown) => value is T): Promise<T | undefined>;
}

/**
 * A folder of immutable blobs named by the sha256 of their bytes, and of step records named by the hash of
 * their inputs. Writes are atomic (temporary file, then rename), so a run killed at any point leaves either a
 * complete entry or none, and a rerun finds every finished step.
 */
export class ContentStore implements StepStore {
  private constructor(readonly root: string) {}

  static async open(root: string): Promise<ContentStore> {
    await mkdir(join(root, 'objects'), { recursive: true });
    await mkdir(join(root, 'steps'), { recursive: true });
    return new ContentStore(root);
  }

  /** Stores bytes under their sha256 (once) and returns the hash. */
  async putBlob(bytes: Uint8Array, extension = ''): Promise<string> {
    const hash = sha256(bytes);
    const path = this.blobPath(hash, extension);
    if (!(await exists(path))) await writeFileAtomic(path, bytes);
    return hash;
  }

  async getBlob(hash: string, extension = ''): Promise<Uint8Array | undefined> {
    const path = this.blobPath(hash, extension);
    let bytes: Uint8Array;
    try {
      bytes = await readFile(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new InvalidFileError(path, `cannot read this stored state: ${(error as Error).message}`);
    }
    // A blob whose bytes no longer match its name was damaged: treat it as absent, never use it.
    if (sha256(bytes) !== hash) return this.setAside(path);
    return bytes;
  }

  blobPath(hash: string, extension = ''): string {
    return join(this.root, 'objects', `${hash}${extension}`);
  }

  async putRecord(key: string, value: unknown): Promise<void> {
    await writeFileAtomic(this.recordPath(key), `${JSON.stringify(value)}\n`);
  }

  async getRecord<T>(key: string, isRecord?: (value: unknown) => value is T): Promise<T | undefined> {
    const path = this.recordPath(key);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new InvalidFileError(path, `cannot read this step record: ${(error as Error).message}`);
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return this.setAside(path);
    }
    if (isRecord !== undefined && !isRecord(value)) return this.setAside(path);
    return value as T;
  }

  recordPath(key: string): string {
    return join(this.root, 'steps', `${key}.json`);
  }

  /** Moves a damaged entry out of the way (kept for a post-mortem) so the next write can put a good one there. */
  private async setAside(path: string): Promise<undefined> {
    try {
      await rename(path, `${path}.corrupt`);
    } catch (error) {
      throw new InvalidFileError(path, `is damaged and cannot be set aside: ${(error as Error).message}`);
    }
    return undefined;
  }
}

export function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A key for a JSON-able value: sha256 of its canonical JSON (object keys sorted). */
export function hashOf(value: unknown): string {
  return sha256(canonicalJson(value));
}

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
