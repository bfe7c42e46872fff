import type { CandidateRanking } from './lineage.js';

/** Successive halving's rounds, as the plan's `candidates.halving` gives them. */
export interface HalvingSettings {
  readonly lambdas: readonly number[];
  readonly examples: number;
  readonly eta: number;
  readonly rounds: number;
}

/**
 * The objectives of each requested candidate (by its index) at each of its merge factors, measured on the first
 * `examples` examples of every task; one call per round, so an evaluator can batch a round's models.
 */
export type ObjectivesAt = (
  requests: readonly { readonly index: number; readonly lambdas: readonly number[] }[],
  examples: number,
) => Promise<number[][]>;

export interface RankedCandidate {
  readonly index: number;
  readonly ranking: CandidateRanking;
}

/** Candidates kept for the λ grid, best first, and those pruned, each with what ranked it. */
export interface CandidateRankingResult {
  readonly kept: readonly RankedCandidate[];
  readonly pruned: readonly RankedCandidate[];
}

const PROBE_LAMBDAS = [0.5, 1];

/**
 * Successive halving over λ and examples: every candidate is tried at `settings.lambdas` on a few examples and
 * judged by its best point, so a donor that only helps at a small λ competes on that point; the better 1/eta go
 * on with eta times the examples, tried at their best λ so far and halfway to its neighbours, until `topK`
 * remain (or the rounds run out and the best `topK` of the last round are kept). Ties keep candidate order.
 */
export async function successiveHalving(
  count: number,
  topK: number,
  settings: HalvingSettings,
  objectivesAt: ObjectivesAt,
): Promise<CandidateRankingResult> {
  const tried = Array.from({ length: count }, () => [] as number[]);
  const best = new Array<number>(count).fill(0);
  let alive = Array.from({ length: count }, (_, i) => i);
  const pruned: RankedCandidate[] = [];
  let examples = settings.examples;
  for (let round = 1; ; round++) {
    const requests = alive.map((index) => ({
      index,
      lambdas: round === 1 ? [...settings.lambdas] : refinedLambdas(tried[index], best[index]),
    }));
    const objectives = await objectivesAt(requests, examples);
    const rankings = new Map<number, CandidateRanking>();
    requests.forEach(({ index, lambdas }, r) => {
      const point = bestPoint(lambdas, objectives[r]);
      best[index] = point.lambda;
      tried[index] = [...tried[index], ...lambdas].sort((a, b) => a - b);
      rankings.set(index, {
        by: 'halving',
        value: -point.objective,
        round,
        examples,
        lambdas,
        lambda: point.lambda,
      });
    });
    const ranked = rankByValue(alive, (i) => rankings.get(i)!.value);
    const keep =
      ranked.length <= topK
        ? ranked.length
        : round >= settings.rounds
          ? topK
          : Math.max(topK, Math.ceil(ranked.length / settings.eta));
    for (const index of ranked.slice(keep)) pruned.push({ index, ranking: rankings.get(index)! });
    alive = ranked.slice(0, keep);
    if (alive.length <= topK) {
      return { kept: alive.map((index) => ({ index, ranking: rankings.get(index)! })), pruned };
    }
    examples *= settings.eta;
  }
}

/** The two-point probe: each candidate's best objective at λ = 0.5 and 1 on the first `examples` examples. */
export async function probeRanking(
  count: number,
  topK: number,
  examples: number,
  objectivesAt: ObjectivesAt,
): Promise<CandidateRankingResult> {
  const requests = Array.from({ length: count }, (_, index) => ({ index, lambdas: PROBE_LAMBDAS }));
  const objectives = await objectivesAt(requests, examples);
  const rankings = objectives.map((values): CandidateRanking => {
    const point = bestPoint(PROBE_LAMBDAS, values);
    return { by: 'probe', value: -point.objective, examples, lambdas: PROBE_LAMBDAS, lambda: point.lambda };
  });
  return splitAt(rankings, topK);
}

/** Ranking by a data-free value per candidate (the weight cosine after alignment). */
export function alignmentRanking(cosines: readonly number[], topK: number): CandidateRankingResult {
  return splitAt(
    cosines.map((value): CandidateRanking => ({ by: 'alignment', value })),
    topK,
  );
}

function splitAt(rankings: readonly CandidateRanking[], topK: number): CandidateRankingResult {
  const ranked = rankByValue(
    rankings.map((_, i) => i),
    (i) => rankings[i].value,
  ).map((index) => ({ index, ranking: rankings[index] }));
  return { kept: ranked.slice(0, topK), pruned: ranked.slice(topK) };
}

/** Highest value first; equal values keep their order, so the choice is deterministic. */
function rankByValue(indices: readonly number[], value: (index: number) => number): number[] {
  return indices
    .map((index, order) => ({ index, order, value: value(index) }))
    .sort((x, y) => compareValues(y.value, x.value) || x.order - y.order)
    .map((x) => x.index);
}

/** NaN (a diverged merge) ranks below every number. */
function compareValues(a: number, b: number): number {
  if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : -1;
  if (Number.isNaN(b)) return 1;
  return a - b;
}

/** The lowest objective and its λ; among equals the smallest λ. */
function bestPoint(
  lambdas: readonly number[],
  objectives: readonly number[],
): { lambda: number; objective: number } {
  let at = -1;
  objectives.forEach((objective, i) => {
    if (Number.isNaN(objective)) return;
    if (at < 0 || objective < objectives[at] || (objective === objectives[at] && lambdas[i] < lambdas[at]))
      at = i;
  });
  return at < 0
    ? { lambda: lambdas[0], objective: Number.NaN }
    : { lambda: lambdas[at], objective: objectives[at] };
}

/**
 * The next round's merge factors around the best one so far: it again (the examples changed, so earlier values
 * do not compare) and halfway to its neighbours among those tried (0 below the smallest).
 */
function refinedLambdas(tried: readonly number[], best: number): number[] {
  const below = tried.filter((l) => l < best);
  const above = tried.filter((l) => l > best);
  const lower = below.length === 0 ? 0 : below[below.length - 1];
  const out = [roundLambda((lower + best) / 2), best];
  if (above.length > 0) out.push(roundLambda((best + above[0]) / 2));
  return out;
}

/** Six decimals keep midpoints readable in the lineage and identical across platforms. */
function roundLambda(lambda: number): number {
  return Math.round(lambda * 1e6) / 1e6;
}
