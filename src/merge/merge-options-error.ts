import { MalError } from '../errors.js';

/** A merge operator was given a weight or parameter outside the range it is defined on. */
export class InvalidMergeOptionError extends MalError {
  override readonly name = 'InvalidMergeOptionError';
  constructor(
    readonly option: string,
    detail: string,
    readonly tensor?: string,
  ) {
    super(`${tensor === undefined ? '' : `tensor '${tensor}': `}merge option '${option}' ${detail}`);
  }
}
