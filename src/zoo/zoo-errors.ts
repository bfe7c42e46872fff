import { MalError } from '../errors.js';

/** A zoo manifest (`zoo.json`) is missing, not JSON, or has a field of the wrong kind; the message names the field. */
export class ZooManifestError extends MalError {
  override readonly name = 'ZooManifestError';
  constructor(
    readonly file: string,
    /** JSON path of the bad field, e.g. `models[2].sha256`; empty for the file as a whole. */
    readonly field: string,
    detail: string,
  ) {
    super(`${file}: ${field === '' ? '' : `${field}: `}${detail}`);
  }
}

/** A request on a zoo cannot be met: an unknown or duplicate model id, a model file that moved, a held lock. */
export class ZooError extends MalError {
  override readonly name = 'ZooError';
}
