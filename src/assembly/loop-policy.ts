/*
 * The assembly loop's policy: how tasks add up to the objective, which scored candidate a step accepts, when the
 * loop stops and why. One module for the embedded loop, the Temporal workflow and the NATS dispatcher, so they
 * cannot drift apart. It imports nothing: Temporal bundles it into the deterministic workflow sandbox.
 */

/** The objective is minimised everywhere: loss counts as is, accuracy negated. */
export const OBJECTIVE_DIRECTION = 'lower is better';

export interface WeightedMetric {
  readonly metric: 'loss' | 'accuracy';
  readonly weight: number;
}

export interface MetricValues {
  readonly loss: number;
  readonly accuracy: number;
}

/** `Σ weight · value` with value the loss, or −accuracy, summed in task order. */
export function objectiveOf(tasks: readonly WeightedMetric[], results: readonly MetricValues[]): number {
  let total = 0;
  tasks.forEach((t, i) => {
    const r = results[i];
    total += t.weight * (t.metric === 'loss' ? r.loss : -r.accuracy);
  });
  return total;
}

/** A task with its optional floor: how much worse than the original base it may get. */
export interface FlooredTask extends WeightedMetric {
  readonly name: string;
  readonly maxDrop?: number;
}

/** The first task floor that `candidate` breaks relative to the original base, described; undefined if none. */
export function brokenFloor(
  tasks: readonly FlooredTask[],
  initial: readonly MetricValues[],
  candidate: readonly MetricValues[],
): string | undefined {
  for (let i = 0; i < tasks.length; i++) {
    const { maxDrop, metric, name } = tasks[i];
    if (maxDrop === undefined) continue;
    const before = initial[i];
    const after = candidate[i];
    if (metric === 'loss' && after.loss > before.loss + maxDrop) {
      return `task ${name}: loss ${after.loss.toFixed(4)} exceeds the floor ${before.loss.toFixed(4)} + ${maxDrop}`;
    }
    if (metric === 'accuracy' && after.accuracy < before.accuracy - maxDrop) {
      return `task ${name}: accuracy ${after.accuracy.toFixed(4)} is below the floor ${before.accuracy.toFixed(4)} − ${maxDrop}`;
    }
  }
  return undefined;
}

/**
 * Why a candidate scored at merge factor `lambda` (its curve safe up to `threshold`) is not accepted, or undefined
 * when it is acceptable: λ* must reach λ_min, the objective must improve, and no task floor may break.
 */
/**
 * The least relative improvement that counts. Below it a change is rounding: the same model merged along another
 * path, or a transplant whose only effect a calibrated objective re-fits away, moves the objective by ~1e-9.
 */
export const IMPROVEMENT_TOLERANCE = 1e-6;

/** Whether `objective` improves on `before` by more than rounding (lower is better). */
export function improves(objective: number, before: number): boolean {
  return objective < before - IMPROVEMENT_TOLERANCE * Math.max(1, Math.abs(before));
}

export function rejectionOf(
  scored: { readonly threshold: number; readonly lambda: number; readonly objective: number },
  lambdaMin: number,
  objectiveBefore: number,
  floor: () => string | undefined,
): string | undefined {
  if (scored.threshold < lambdaMin) return `λ* = ${scored.threshold} is below λ_min = ${lambdaMin}`;
  if (!improves(scored.objective, objectiveBefore))
    return `objective ${scored.objective.toFixed(5)} at λ = ${scored.lambda} does not improve on ${objectiveBefore.toFixed(5)}`;
  return floor();
}

/** The acceptable candidate with the lowest objective; the first of equals, so the choice is deterministic. */
export function chooseAccepted<T extends { readonly rejected?: string; readonly objectiveAtLambda: number }>(
  scored: readonly T[],
): T | null {
  let accepted: T | null = null;
  for (const s of scored) {
    if (s.rejected === undefined && (accepted === null || s.objectiveAtLambda < accepted.objectiveAtLambda))
      accepted = s;
  }
  return accepted;
}

export const NOTHING_IMPROVED_REASON = 'no candidate improved the objective';

export function budgetSpentReason(budget: number): string {
  return `the step budget (${budget}) is spent`;
}

export function stoppedByRequestReason(stepsDone: number): string {
  return `stopped by request after ${stepsDone} step(s)`;
}

/** After step `index` (0-based): the loop goes on, or stops with the reason recorded in the lineage. */
export function afterStep(
  index: number,
  budget: number,
  accepted: boolean,
): { readonly next: number } | { readonly stop: string } {
  if (!accepted) return { stop: NOTHING_IMPROVED_REASON };
  if (index + 1 >= budget) return { stop: budgetSpentReason(budget) };
  return { next: index + 1 };
}
