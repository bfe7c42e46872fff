import { MalError } from '../errors.js';

/**
 * An assembly plan is malformed (a bad field, an unknown key) or cannot be run as written (a missing model,
 * data set or layer). The message reads `file:line: field.path: what is wrong`, the line where it is known.
 */
export class PlanError extends MalError {
  override readonly name = 'PlanError';
}
