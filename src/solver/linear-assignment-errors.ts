import { MalError } from '../errors.js';

/** The cost buffer's length is not rows × cols, or a dimension is not a non-negative integer. */
export class CostMatrixShapeError extends MalError {
  override readonly name = 'CostMatrixShapeError';
}

/** A cost is NaN or ±Infinity: the assignment problem has no meaningful optimum. */
export class NonFiniteCostError extends MalError {
  override readonly name = 'NonFiniteCostError';
  constructor(
    readonly row: number,
    readonly col: number,
    readonly value: number,
  ) {
    super(
      `linear assignment: cost[${row}, ${col}] is ${value}; costs must be finite ` +
        '(use a large finite cost to discourage a pairing)',
    );
  }
}

/** Finite costs so large in magnitude that the solver's dual arithmetic overflowed to infinity. */
export class CostOverflowError extends MalError {
  override readonly name = 'CostOverflowError';
}
