/**
 * Which way each printed score is better. Text output says it next to the number; JSON output carries a
 * `directions` object naming the kinds of score in it (`objective`, `loss`, …): a name covers every field of that
 * kind (`objective`, `initialObjective`, `objectiveBefore`, …).
 */
export type Direction = 'higher' | 'lower';

export const HIGHER_IS_BETTER = '(higher is better)';
export const LOWER_IS_BETTER = '(lower is better)';

/** The weight-matching objective: Σ ⟨θ_base, T(θ_target)⟩ over paired tensors; alignment raises it. */
export const ALIGNMENT_OBJECTIVE: Direction = 'higher';
/** The assembly objective: Σ weight · value over the plan's tasks, value = the loss, or −accuracy. */
export const ASSEMBLY_OBJECTIVE: Direction = 'lower';

export const EVALUATION_DIRECTIONS = { loss: 'lower', accuracy: 'higher' } as const satisfies Record<
  string,
  Direction
>;

export function describeDirection(direction: Direction): string {
  return direction === 'higher' ? HIGHER_IS_BETTER : LOWER_IS_BETTER;
}
