import type { TensorSource } from '../io/tensor-source.js';

/**
 * The run holds more than one copy of each model at a time: the current state, the original base (for the
 * floors), the aligned candidate and the trial merge along the λ grid, plus the activations of the forward
 * passes over the data. Three times the sum of what is read is a rough, deliberately generous allowance.
 */
export const MEMORY_WORKING_FACTOR = 3;

/** The share of the machine's memory a run may be estimated to need before validation refuses it. */
export const MEMORY_LIMIT_FRACTION = 0.9;

export interface PlanMemoryEstimate {
  /** What validation compares with totalBytes: `workingFactor × (base + largest zoo model + data sets)`. */
  readonly estimateBytes: number;
  /** The machine's memory (os.totalmem()). */
  readonly totalBytes: number;
  /** The base's tensors as float32. */
  readonly baseBytes: number;
  /** The largest included zoo model's tensors as float32. */
  readonly largestZooModelBytes: number;
  /** Features and labels of every distinct data set of the objective, as 4-byte values; 0 when not checked. */
  readonly dataBytes: number;
  readonly workingFactor: number;
}

/** Bytes of a model's tensors once read as float32 (the merge works in float32 whatever the file's dtype). */
export function float32BytesOf(source: TensorSource): number {
  let elements = 0;
  for (const name of source.tensorNames()) {
    elements += source.info(name).shape.reduce((product, size) => product * size, 1);
  }
  return elements * Float32Array.BYTES_PER_ELEMENT;
}

export function estimatePlanMemory(
  parts: { readonly baseBytes: number; readonly largestZooModelBytes: number; readonly dataBytes: number },
  totalBytes: number,
): PlanMemoryEstimate {
  const estimateBytes =
    MEMORY_WORKING_FACTOR * (parts.baseBytes + parts.largestZooModelBytes + parts.dataBytes);
  return { estimateBytes, totalBytes, ...parts, workingFactor: MEMORY_WORKING_FACTOR };
}
