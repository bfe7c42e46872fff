import { innerProduct } from '../linalg/matmul-transposed.js';
import { SeededRandom } from '../random/seeded-random.js';
import { solveLinearAssignment } from '../solver/linear-assignment.js';
import type { AlignmentProblem, SpacePairing } from './alignment-problem.js';
import { mapTargetTensor } from './apply-maps.js';
import type { KernelPolicy } from './axis-index.js';
import { CostMatrixBuilder } from './cost-matrix.js';
import { solveNestedAssignment } from './nested-assignment.js';
import { sortedWeightInit } from './sorted-weight-init.js';
import { identitySpaceMap, type SpaceMap, type SpaceMaps } from './space-map.js';
import {
  DEFAULT_WEIGHT_MATCHING,
  type WeightMatchingOptions,
  type WeightMatchingStep,
} from './weight-matching-options.js';

// Options and defaults need none of the solver: the command line's help reads them from there.
export {
  DEFAULT_WEIGHT_MATCHING,
  type WeightMatchingOptions,
  type WeightMatchingStep,
} from './weight-matching-options.js';

export interface WeightMatchingResult {
  /** The start the result came from. */
  readonly init: 'identity' | 'sorted';
  readonly maps: Map<string, SpaceMap>;
  readonly initialObjective: number;
  readonly objective: number;
  readonly sweeps: number;
  readonly converged: boolean;
  readonly steps: readonly WeightMatchingStep[];
}

/**
 * Weight matching by coordinate descent over the free spaces (MAL §2): start from identity-with-truncation, then
 * repeatedly re-solve one space's linear assignment with every other map held. Each step is an exact assignment,
 * so the objective never decreases. With one free space on each side of a lone layer this is the bidirectional
 * alternation of §2; with equal architectures it is Git Re-Basin's weight matching.
 */
export async function weightMatching(
  problem: AlignmentProblem,
  options: Partial<WeightMatchingOptions> = {},
): Promise<WeightMatchingResult> {
  const opts = { ...DEFAULT_WEIGHT_MATCHING, ...options };
  if (opts.init !== 'best') return descend(problem, opts, opts.init);
  const fromIdentity = await descend(problem, opts, 'identity');
  const fromSorted = await descend(problem, opts, 'sorted');
  return fromSorted.objective > fromIdentity.objective ? fromSorted : fromIdentity;
}

async function descend(
  problem: AlignmentProblem,
  opts: WeightMatchingOptions,
  init: 'identity' | 'sorted',
): Promise<WeightMatchingResult> {
  const maps = new Map<string, SpaceMap>();
  for (const s of problem.spaces) {
    if (init === 'sorted' && s.kind === 'free' && s.parent === undefined)
      maps.set(s.baseSpace, { ...s, map: sortedWeightInit(problem, s) });
    else maps.set(s.baseSpace, identitySpaceMap(s));
  }
  // Nested spaces are solved with their parent, never on their own.
  const free = problem.spaces.filter((s) => s.kind === 'free' && s.parent === undefined);
  const nestedIn = (space: SpacePairing) =>
    problem.spaces.filter((s) => s.kind === 'free' && s.parent?.space === space.baseSpace);
  const builder = new CostMatrixBuilder(problem, opts.kernel);
  const random = new SeededRandom(opts.seed);

  const initialObjective = alignmentObjective(problem, maps, opts.kernel);
  let objective = initialObjective;
  const steps: WeightMatchingStep[] = [];
  let sweeps = 0;
  let converged = free.length === 0;

  while (!converged && sweeps < opts.maxSweeps) {
    sweeps++;
    const sweepStart = objective;
    for (const space of sweepOrder(free, opts.order, random)) {
      const children = nestedIn(space);
      const previous = new Map(
        [space, ...children].map((s) => [s.baseSpace, maps.get(s.baseSpace)!] as const),
      );
      let proposed: Map<string, SpaceMap>;
      if (children.length === 0) {
        const cost = await builder.build(space, maps);
        const map = solveLinearAssignment(cost, space.baseWidth, space.targetWidth, { maximize: true });
        proposed = new Map([[space.baseSpace, { ...previous.get(space.baseSpace)!, map }]]);
      } else {
        proposed = await solveNestedAssignment(space, children, maps, builder);
      }
      if ([...proposed].every(([name, m]) => sameMap(m.map, previous.get(name)!.map))) {
        steps.push({ sweep: sweeps, space: space.baseSpace, objective, accepted: true });
        opts.onStep?.(steps[steps.length - 1]);
        continue;
      }
      for (const [name, m] of proposed) maps.set(name, m);
      const next = alignmentObjective(problem, maps, opts.kernel);
      const accepted = next >= objective;
      if (accepted) objective = next;
      else for (const [name, m] of previous) maps.set(name, m);
      steps.push({ sweep: sweeps, space: space.baseSpace, objective, accepted });
      opts.onStep?.(steps[steps.length - 1]);
    }
    converged = objective - sweepStart <= opts.tolerance * Math.max(1, Math.abs(objective));
  }
  return { init, maps, initialObjective, objective, sweeps, converged, steps };
}

/** `Σ ⟨W_base, T(W_target)⟩` over the problem's tensor pairs under the given maps. */
export function alignmentObjective(problem: AlignmentProblem, maps: SpaceMaps, kernel: KernelPolicy): number {
  let total = 0;
  for (const pair of problem.pairs) {
    const mapped = mapTargetTensor({ ...pair, baseShape: pair.base.shape }, maps, kernel);
    total += innerProduct(pair.base.data, mapped.data);
  }
  return total;
}

function sweepOrder(
  free: readonly SpacePairing[],
  order: 'network' | 'random',
  random: SeededRandom,
): readonly SpacePairing[] {
  if (order === 'network') return free;
  const perm = random.permutation(free.length);
  return Array.from(perm, (i) => free[i]);
}

function sameMap(a: Int32Array, b: Int32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
