import type { OccurrenceProductTask } from '../../src/align/occurrence-product.js';
import { BadTaskError } from './nats-errors.js';

/**
 * Refuses an occurrence that does not fit the tensors it names, before anything is sized by its numbers: a task
 * comes from a peer on the bus, and a wrong rows or cols would otherwise size a product (or read past a tensor)
 * in a thread, where it fails only as a retried RangeError. The products are the shapes occurrenceProduct forms.
 */
export function checkOccurrenceFits(
  task: OccurrenceProductTask,
  baseShape: readonly number[],
  targetShape: readonly number[],
  where: string,
): void {
  const refuse = (what: string): never => {
    throw new BadTaskError(`${where} (occurrence ${task.key}): ${what}`);
  };
  const rank = targetShape.length;
  if (baseShape.length !== rank)
    refuse(`base tensor is rank ${baseShape.length}, target tensor rank ${rank}`);
  if (task.axis >= rank) refuse(`axis ${task.axis} of rank-${rank} tensors`);
  if (task.targetIndices.length !== rank)
    refuse(`${task.targetIndices.length} target index arrays for rank-${rank} tensors`);
  task.targetIndices.forEach((indices, axis) => {
    for (const j of indices)
      if (j < -1 || j >= targetShape[axis])
        refuse(`target index ${j} on axis ${axis}, whose length is ${targetShape[axis]}`);
  });
  const lengths = task.targetIndices.map((indices) => indices.length);
  const targetSlice = lengths.reduce((n, d) => n * d, 1);
  if (task.wholeMatrix) {
    if (rank !== 2) refuse(`a whole-matrix occurrence needs rank-2 tensors, not rank ${rank}`);
    const depth = baseShape[1 - task.axis];
    if (task.rows !== baseShape[task.axis])
      refuse(`rows ${task.rows}, but the base's axis ${task.axis} has ${baseShape[task.axis]}`);
    if (lengths[task.axis] !== task.cols || lengths[1 - task.axis] !== depth)
      refuse(
        `target index arrays of lengths ${lengths.join('×')} do not give ${task.cols} columns of depth ${depth}`,
      );
    return;
  }
  if (task.baseOffset + task.baseLength > baseShape[task.axis])
    refuse(
      `base entries [${task.baseOffset}, ${task.baseOffset + task.baseLength}) past the ${baseShape[task.axis]} of axis ${task.axis}`,
    );
  const baseSlice = (baseShape.reduce((n, d) => n * d, 1) / baseShape[task.axis]) * task.baseLength;
  // An empty slice makes every size below 0, which any rows × cols would "fit": a product sized by the message alone.
  if (!(baseSlice > 0))
    refuse(
      `no base entries to multiply (${task.baseLength} on axis ${task.axis} of a ${baseShape.join('×')} tensor)`,
    );
  if (baseSlice % task.rows !== 0)
    refuse(`a base slice of ${baseSlice} values does not split into ${task.rows} rows`);
  const depth = baseSlice / task.rows;
  if (targetSlice !== task.cols * depth)
    refuse(`a target slice of ${targetSlice} values is not ${task.cols} columns of depth ${depth}`);
}
