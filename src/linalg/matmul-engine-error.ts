import { MalError } from '../errors.js';

/** A matmul engine that was asked for cannot start, or cannot hold a product's operands. */
export class MatmulEngineError extends MalError {
  override readonly name = 'MatmulEngineError';
}
