import { type AlignmentMemoryEstimate, formatGiB } from '../align/alignment-memory.js';
import type { SpaceMap } from '../align/space-map.js';
import type { WeightMatchingStep } from '../align/weight-matching.js';
import type { CommandIO } from './command.js';

/**
 * One line per space: how many units matched, how many moved, and which side was padded or cropped. A nested
 * space holds one map per parent unit, so its units are counted inside each parent unit (a unit moved when it
 * leaves its place inside its own parent unit) and its moved count sums over the parent units.
 */
export function describeSpaces(maps: Iterable<SpaceMap>): string[] {
  const lines: string[] = [];
  for (const m of maps) {
    const matched = Math.min(m.baseWidth, m.targetWidth);
    let fit = 'same width';
    if (m.baseWidth > m.targetWidth) fit = `${m.baseWidth - m.targetWidth} base units unmatched`;
    if (m.baseWidth < m.targetWidth) fit = `${m.targetWidth - m.baseWidth} target units dropped`;
    let moved = 0;
    for (let i = 0; i < m.map.length; i++) if (m.map[i] >= 0 && m.map[i] !== i % m.baseWidth) moved++;
    const where =
      m.parent === undefined
        ? `${m.kind}`
        : `${m.kind}, in each of ${m.parent.baseWidth} units of ${m.parent.space}`;
    lines.push(
      `${m.baseSpace} (${where}): ${m.targetWidth} → ${m.baseWidth} units, ${matched} matched, ${moved} moved, ${fit}`,
    );
  }
  return lines;
}

/** Progress of coordinate descent, one step at a time. */
export function stepReporter(io: CommandIO): (step: WeightMatchingStep) => void {
  return (step) =>
    io.progress(
      `sweep ${step.sweep}, space ${step.space}: ${step.objective === null ? 'anchoring step (objective measured later)' : `objective ${step.objective.toPrecision(6)}`}`,
    );
}

/** The pre-flight memory estimate, before any tensor is read. */
export function estimateReporter(
  io: CommandIO,
): (memory: AlignmentMemoryEstimate, cacheBytes: number) => void {
  return (memory, cacheBytes) =>
    io.progress(
      `weight matching needs ${formatGiB(memory.workingBytes)} (widest step: space ${memory.largestStep.space}) and keeps up to ${formatGiB(cacheBytes)} of tensors between steps`,
    );
}
