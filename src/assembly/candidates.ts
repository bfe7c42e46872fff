import type { ArchitectureSpec } from '../spec/architecture-spec.js';
import type { CandidatePolicy } from './assembly-plan.js';
import { type TransplantUnit, transplantUnits } from './transplant-units.js';

/** One transplant to try: units of a zoo model onto units of the base, paired in order. */
export interface Candidate {
  readonly model: string;
  readonly layers: readonly string[];
  readonly baseLayers: readonly string[];
}

export interface ZooModelSpec {
  readonly id: string;
  readonly spec: ArchitectureSpec;
}

/**
 * The candidates of MAL §6 under a policy. `same-depth`: each base unit with the zoo unit of the same kind at the
 * nearest relative depth, plus the whole zoo model when it has as many units of the same kinds (consecutive
 * layers of one model share maps and are aligned jointly); `all`: every (base unit, zoo unit) pair of the same
 * kind; `list`: the plan's list. Compatibility of spaces is checked when a candidate is aligned, and an
 * incompatible one is reported, never merged.
 */
export function generateCandidates(
  base: ArchitectureSpec,
  zoo: readonly ZooModelSpec[],
  policy: CandidatePolicy,
): Candidate[] {
  if (policy.policy === 'list') {
    return policy.list.map((c) => ({ model: c.model, layers: [...c.layers], baseLayers: [...c.baseLayers] }));
  }
  const baseUnits = transplantUnits(base);
  const out: Candidate[] = [];
  for (const model of zoo) {
    const units = transplantUnits(model.spec);
    if (policy.policy === 'all') {
      for (const b of baseUnits) {
        for (const u of units) {
          if (u.kind === b.kind) out.push({ model: model.id, layers: [u.name], baseLayers: [b.name] });
        }
      }
      continue;
    }
    baseUnits.forEach((b, i) => {
      const match = nearestByDepth(i, baseUnits.length, units, b.kind);
      if (match !== undefined) out.push({ model: model.id, layers: [match.name], baseLayers: [b.name] });
    });
    if (
      units.length === baseUnits.length &&
      baseUnits.length > 1 &&
      units.every((u, i) => u.kind === baseUnits[i].kind)
    ) {
      out.push({
        model: model.id,
        layers: units.map((u) => u.name),
        baseLayers: baseUnits.map((u) => u.name),
      });
    }
  }
  return out;
}

function nearestByDepth(
  index: number,
  count: number,
  units: readonly TransplantUnit[],
  kind: TransplantUnit['kind'],
): TransplantUnit | undefined {
  const depth = count === 1 ? 0 : index / (count - 1);
  let best: TransplantUnit | undefined;
  let bestGap = Number.POSITIVE_INFINITY;
  units.forEach((u, j) => {
    if (u.kind !== kind) return;
    const gap = Math.abs((units.length === 1 ? 0 : j / (units.length - 1)) - depth);
    if (gap < bestGap - 1e-12) {
      best = u;
      bestGap = gap;
    }
  });
  return best;
}

export function candidateKey(c: Candidate): string {
  return `${c.model}:${c.layers.join('+')}→${c.baseLayers.join('+')}`;
}
