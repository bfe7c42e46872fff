import { collectGarbage } from '../compute/collect-garbage.js';
import { innerProduct } from '../linalg/matmul-transposed.js';
import { SeededRandom } from '../random/seeded-random.js';
import { openAssignmentWorkspace } from '../solver/linear-assignment.js';
import {
  type AlignmentPlan,
  type AlignmentProblem,
  axisSpaces,
  pairSpaces,
  type SpacePairing,
  type TensorPairing,
} from './alignment-problem.js';
import { mapTargetTensor } from './apply-maps.js';
import type { KernelPolicy } from './axis-index.js';
import { CostMatrixBuilder } from './cost-matrix.js';
import { solveNestedAssignment } from './nested-assignment.js';
import { inMemoryAlignment, type SourcedAlignment } from './paired-tensors.js';
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
  readonly init: 'identity' | 'sorted' | 'anchored';
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
  problem: AlignmentProblem | SourcedAlignment,
  options: Partial<WeightMatchingOptions> = {},
): Promise<WeightMatchingResult> {
  const opts = { ...DEFAULT_WEIGHT_MATCHING, ...options };
  const sourced = 'tensors' in problem ? problem : inMemoryAlignment(problem);
  if (opts.init !== 'best') return descend(sourced, opts, opts.init);
  const fromIdentity = await descend(sourced, opts, 'identity');
  const fromSorted = await descend(sourced, opts, 'sorted');
  return fromSorted.objective > fromIdentity.objective ? fromSorted : fromIdentity;
}

async function descend(
  problem: SourcedAlignment,
  opts: WeightMatchingOptions,
  init: 'identity' | 'sorted' | 'anchored',
): Promise<WeightMatchingResult> {
  const maps = new Map<string, SpaceMap>();
  for (const s of problem.spaces) {
    if (init === 'sorted' && s.kind === 'free' && s.parent === undefined)
      maps.set(s.baseSpace, { ...s, map: await sortedWeightInit(problem, s) });
    else maps.set(s.baseSpace, identitySpaceMap(s));
  }
  const groups = spaceGroups(problem);
  const builder = new CostMatrixBuilder(problem, opts.kernel, opts.products);
  const random = new SeededRandom(opts.seed);
  // A space's matrix depends only on its neighbours' maps: re-solving it while none of them changed would give
  // the map it has, so such a step is skipped (on a deep model, most of every sweep after the first).
  const versions = new Map(problem.spaces.map((s) => [s.baseSpace, 0]));
  const solvedAt = new Map<SpaceGroup, number[]>();
  const neighbourVersions = (group: SpaceGroup) => group.neighbours.map((n) => versions.get(n) ?? 0);

  const terms: ObjectiveTerms = new Map();
  const initialObjective = await objectiveOf(problem, maps, opts.kernel, problem.pairs, terms);
  // Unknown after a partial step: measuring it there would read every tensor its space touches once more. It is
  // read off a later full step's cost matrix when every other pair's term is remembered (on a transformer the
  // residual space touches every pair, so its full step in sweep 2 costs no read), else measured at a sweep's end.
  let objective: number | undefined = initialObjective;
  const steps: WeightMatchingStep[] = [];
  const record = (step: WeightMatchingStep) => {
    steps.push(step);
    opts.onStep?.(step);
  };
  let sweeps = 0;
  let converged = groups.length === 0;

  // `anchored`: spaces whose maps are trusted so far in the first sweep (fixed ones, then each space once solved).
  const known = new Set(problem.spaces.filter((s) => s.kind === 'fixed').map((s) => s.baseSpace));
  while (!converged && sweeps < opts.maxSweeps) {
    sweeps++;
    let sweepStart = objective;
    let sweepGain = 0;
    const anchoring = init === 'anchored' && sweeps === 1;
    for (const group of sweepOrder(groups, opts.order, random)) {
      const { space, children } = group;
      const before = solvedAt.get(group);
      const now = neighbourVersions(group);
      if (before?.every((v, i) => v === now[i])) {
        record({
          sweep: sweeps,
          space: space.baseSpace,
          objective: objective ?? null,
          accepted: true,
          skipped: true,
        });
        continue;
      }
      const previous = new Map(
        [space, ...children].map((s) => [s.baseSpace, maps.get(s.baseSpace)!] as const),
      );
      const members = [...previous.keys()];
      // Anchoring counts only the tensors whose other spaces are known; with none such, it counts them all.
      const anchoredPairs = anchoring
        ? builder
            .pairsTouching(members)
            .filter((pair) => pairSpaces(pair).every((s) => known.has(s) || members.includes(s)))
        : undefined;
      const partial =
        anchoredPairs !== undefined &&
        anchoredPairs.length > 0 &&
        anchoredPairs.length < builder.pairsTouching(members).length &&
        children.length === 0;
      let proposed: Map<string, SpaceMap>;
      let gain: number | undefined;
      if (children.length === 0) {
        const counted = partial ? new Set(anchoredPairs) : undefined;
        // Built where the solver reads it: the widest matrix of a deep model is then held once, not twice.
        const workspace = openAssignmentWorkspace(space.baseWidth, space.targetWidth);
        try {
          await builder.build(space, maps, counted && ((pair) => counted.has(pair)), workspace.cost);
          const map = workspace.solve({ maximize: true });
          proposed = new Map([[space.baseSpace, { ...previous.get(space.baseSpace)!, map }]]);
          // Linear in the space's map unless a tensor holds the space on two axes: then measured on the tensors.
          if (!group.selfCoupled && !partial) {
            const held = previous.get(space.baseSpace)!.map;
            if (objective === undefined) {
              const touched = new Set(builder.pairsTouching(members));
              const rest = rememberedObjective(
                problem.pairs.filter((pair) => !touched.has(pair)),
                maps,
                terms,
              );
              if (rest !== undefined) {
                objective = assignmentGain(workspace.cost, space.targetWidth, unassigned(held), held) + rest;
                sweepStart ??= objective - sweepGain;
              }
            }
            gain = assignmentGain(workspace.cost, space.targetWidth, held, map);
          }
        } finally {
          workspace.close();
        }
      } else {
        proposed = await solveNestedAssignment(space, children, maps, builder);
      }
      for (const name of members) known.add(name);
      const changed = [...proposed].filter(([name, m]) => !sameMap(m.map, previous.get(name)!.map));
      // Versions as the matrix saw them (`now`): a self-coupled group's own change must bring it back next sweep.
      if (changed.length === 0) {
        if (!partial) solvedAt.set(group, now);
        record({ sweep: sweeps, space: space.baseSpace, objective: objective ?? null, accepted: true });
        if (opts.collectGarbage) collectGarbage();
        continue;
      }
      if (gain === undefined && !partial) {
        const touched = builder.pairsTouching(members);
        const after = new Map(maps);
        for (const [name, m] of proposed) after.set(name, m);
        gain =
          (await objectiveOf(problem, after, opts.kernel, touched, terms)) -
          (await objectiveOf(problem, maps, opts.kernel, touched, terms));
      }
      // A partial matrix is a start, not an exact step: its map is taken even where the full objective drops.
      const accepted = partial || (gain ?? 0) >= 0;
      if (accepted) {
        sweepGain += gain ?? 0;
        objective = partial || objective === undefined || gain === undefined ? undefined : objective + gain;
        for (const [name, m] of changed) {
          maps.set(name, m);
          versions.set(name, (versions.get(name) ?? 0) + 1);
        }
      }
      // A partial matrix did not see every neighbour: the space is solved again in full next sweep.
      if (!partial) solvedAt.set(group, now);
      record({ sweep: sweeps, space: space.baseSpace, objective: objective ?? null, accepted });
      if (opts.collectGarbage) collectGarbage();
    }
    // An anchored sweep is a start: its partial steps are always followed by a sweep of full ones.
    if (anchoring) continue;
    objective ??= await objectiveOf(problem, maps, opts.kernel, problem.pairs, terms);
    sweepStart ??= objective - sweepGain;
    converged = objective - sweepStart <= opts.tolerance * Math.max(1, Math.abs(objective));
  }
  objective ??= await objectiveOf(problem, maps, opts.kernel, problem.pairs, terms);
  return { init, maps, initialObjective, objective, sweeps, converged, steps };
}

/** A free top-level space with its nested spaces, solved together, and the spaces its matrix depends on. */
interface SpaceGroup {
  readonly space: SpacePairing;
  readonly children: readonly SpacePairing[];
  /** Every other space in the tensors the group occurs in, and the group's own when it is self-coupled. */
  readonly neighbours: readonly string[];
  /** Some tensor holds a member on two axes, so the group's matrix depends on its own map. */
  readonly selfCoupled: boolean;
}

function spaceGroups(problem: AlignmentPlan): SpaceGroup[] {
  const free = problem.spaces.filter((s) => s.kind === 'free' && s.parent === undefined);
  return free.map((space) => {
    const children = problem.spaces.filter((s) => s.kind === 'free' && s.parent?.space === space.baseSpace);
    const members = new Set([space.baseSpace, ...children.map((c) => c.baseSpace)]);
    const around = new Set<string>();
    let selfCoupled = false;
    for (const pair of problem.pairs) {
      const axesSpaces = pair.baseAxes.map((axis) => new Set(axisSpaces(axis)));
      const holding = axesSpaces.filter((spaces) => [...spaces].some((s) => members.has(s))).length;
      if (holding === 0) continue;
      if (holding > 1) selfCoupled = true;
      for (const spaces of axesSpaces) for (const s of spaces) around.add(s);
    }
    const neighbours = [...around].filter((s) => selfCoupled || !members.has(s));
    return { space, children, neighbours, selfCoupled };
  });
}

/** `Σ_i cost[i, next(i)] − Σ_i cost[i, previous(i)]`: the objective's change when one space's map changes. */
function assignmentGain(cost: Float64Array, cols: number, previous: Int32Array, next: Int32Array): number {
  let gain = 0;
  for (let i = 0; i < next.length; i++) {
    if (next[i] >= 0) gain += cost[i * cols + next[i]];
    if (previous[i] >= 0) gain -= cost[i * cols + previous[i]];
  }
  return gain;
}

/** Every row unassigned: `assignmentGain(cost, cols, unassigned(map), map)` is the map's whole value. */
function unassigned(map: Int32Array): Int32Array {
  return new Int32Array(map.length).fill(-1);
}

/** objectiveOf over the given pairs when every term is remembered under these maps; undefined when one is not. */
function rememberedObjective(
  pairs: readonly TensorPairing[],
  maps: SpaceMaps,
  memo: ObjectiveTerms,
): number | undefined {
  let total = 0;
  for (const pair of pairs) {
    const known = memo.get(pair);
    if (!known?.maps.every((m, i) => m === maps.get(pairSpaces(pair)[i]))) return undefined;
    total += known.value;
  }
  return total;
}

/** Each pair's term of the objective with the map objects it was computed under. */
type ObjectiveTerms = Map<
  TensorPairing,
  { readonly maps: readonly (SpaceMap | undefined)[]; readonly value: number }
>;

/**
 * `Σ ⟨W_base, T(W_target)⟩` over the given pairs under the given maps, reading each pair in turn. A pair's term is
 * remembered with the map objects it was computed under, and reused while its spaces keep those very maps.
 */
async function objectiveOf(
  problem: SourcedAlignment,
  maps: SpaceMaps,
  kernel: KernelPolicy,
  pairs: readonly TensorPairing[],
  memo: ObjectiveTerms,
): Promise<number> {
  let total = 0;
  for (const pair of pairs) {
    const used = pairSpaces(pair).map((s) => maps.get(s));
    const known = memo.get(pair);
    if (known?.maps.every((m, i) => m === used[i])) {
      total += known.value;
      continue;
    }
    const base = await problem.tensors.base(pair);
    const target = await problem.tensors.target(pair);
    const mapped = mapTargetTensor({ ...pair, target, baseShape: base.shape }, maps, kernel);
    const value = innerProduct(base.data, mapped.data);
    memo.set(pair, { maps: used, value });
    total += value;
  }
  return total;
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
  free: readonly SpaceGroup[],
  order: 'network' | 'random',
  random: SeededRandom,
): readonly SpaceGroup[] {
  if (order === 'network') return free;
  const perm = random.permutation(free.length);
  return Array.from(perm, (i) => free[i]);
}

function sameMap(a: Int32Array, b: Int32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
