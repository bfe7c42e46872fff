/**
 * Every error the core raises on bad input or an impossible request is a MalError, so the command line can
 * print its message alone (no stack) and exit non-zero. Messages name the file, field, tensor or axis at fault.
 */
export class MalError extends Error {
  override readonly name: string = 'MalError';
  /** Process exit code the command line uses for this error. */
  readonly exitCode: number = 1;
}

/** A model file (safetensors, index, spec, maps) is malformed, truncated or inconsistent. */
export class InvalidFileError extends MalError {
  override readonly name = 'InvalidFileError';
  constructor(
    readonly file: string,
    detail: string,
    readonly tensor?: string,
  ) {
    super(`${file}${tensor === undefined ? '' : `: tensor '${tensor}'`}: ${detail}`);
  }
}

/** An architecture spec does not fit the tensors it describes, or cannot be derived. */
export class SpecError extends MalError {
  override readonly name = 'SpecError';
}

/** Two models (or layers) cannot be aligned or merged: a fixed space differs, a tensor is missing, shapes clash. */
export class IncompatibleModelsError extends MalError {
  override readonly name = 'IncompatibleModelsError';
}

/** Weights that must be finite are not (NaN or ±Inf). */
export class NonFiniteWeightsError extends MalError {
  override readonly name = 'NonFiniteWeightsError';
  constructor(
    readonly source: string,
    readonly tensor: string,
    readonly index: number,
    readonly value: number,
  ) {
    super(
      `${source}: tensor '${tensor}' holds ${value} at flat index ${index}; refusing to merge non-finite weights`,
    );
  }
}

/**
 * A quantised weight (FP8 codes) whose checkpoint keeps scale tensors beside it: the codes alone are not the
 * weight's values, and mal does not apply scales, so it must not compute with them.
 */
export class QuantisedWeightError extends MalError {
  override readonly name = 'QuantisedWeightError';
  constructor(
    readonly file: string,
    readonly tensor: string,
    readonly dtype: string,
    readonly scales: readonly string[],
  ) {
    super(
      `${file}: tensor '${tensor}' holds ${dtype} codes whose values need the scale ${scales.map((s) => `'${s}'`).join(', ')}, ` +
        'which mal does not apply, so it cannot compute with this weight (a merge into this model as the base ' +
        'copies it as it is); dequantise the checkpoint to a float dtype first',
    );
  }
}

/**
 * A tensor's dtype has no exact float32 reading (C64, F4, F6) or no float32 writing (those and FP8), so the maths
 * cannot use it; such tensors are carried as bytes (copied from the base in a merge).
 */
export class DtypeNotConvertibleError extends MalError {
  override readonly name = 'DtypeNotConvertibleError';
  constructor(
    readonly dtype: string,
    readonly direction: 'read' | 'write',
    readonly file?: string,
    readonly tensor?: string,
  ) {
    const where = `${file === undefined ? '' : `${file}: `}${tensor === undefined ? 'a tensor' : `tensor '${tensor}'`}`;
    super(
      direction === 'read'
        ? `${where} is ${dtype}, which has no exact float32 reading; it can only be copied as bytes ` +
            '(mark it merge: false in a spec file, or leave it out of the computation)'
        : `${where} would be written as ${dtype}, which float32 results are not rounded into; it can only be ` +
            'copied from the base as bytes',
    );
  }
}

/** A command-line argument or option is missing or invalid. */
export class UsageError extends MalError {
  override readonly name = 'UsageError';
  override readonly exitCode = 2;
}
