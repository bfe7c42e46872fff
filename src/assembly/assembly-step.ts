import type { Dataset } from '../data/dataset.js';
import { MalError } from '../errors.js';
import { InterpolationPath } from '../eval/interpolation-path.js';
import { summarizeLmc } from '../eval/lmc-metrics.js';
import type { RegMeanSettings } from '../eval/regmean.js';
import type { RepairSettings } from '../eval/repair.js';
import { assertMethodFitsWidths } from '../merge/merge-method-registry.js';
import type { FloatTensor } from '../tensor/tensor.js';
import type { AssemblyPlan } from './assembly-plan.js';
import {
  type AlignedCandidate,
  alignCandidate,
  type CandidateAlignment,
  type ModelInMemory,
} from './candidate-alignment.js';
import {
  alignmentRanking,
  type CandidateRankingResult,
  type ObjectivesAt,
  probeRanking,
  successiveHalving,
} from './candidate-search.js';
import { type Candidate, candidateKey } from './candidates.js';
import { type FusionCandidate, fuseDonors } from './donor-fusion.js';
import type {
  CandidateRanking,
  CandidateRef,
  CurvePoint,
  Evaluated,
  PrunedCandidate,
  ScoredCandidate,
} from './lineage.js';
import { chooseAccepted, rejectionOf } from './loop-policy.js';
import { brokenTaskFloor, type LoadedTask } from './objective-evaluation.js';
import { planMergeChoice, planPathMerge } from './plan-merge.js';
import { transplantUnits } from './transplant-units.js';

/** Most merged models held at once while scoring curves; bounds memory for large models. */
const MODELS_PER_BATCH = 64;

/** Evaluates many models on every task (in parallel where that pays), in order. */
export type EvaluateModels = (models: readonly Map<string, FloatTensor>[]) => Promise<Evaluated[]>;

export interface StepInputs {
  readonly plan: AssemblyPlan;
  readonly base: ModelInMemory;
  readonly candidates: readonly Candidate[];
  readonly zooModel: (id: string) => Promise<ModelInMemory & { readonly sha256: string }>;
  readonly tasks: readonly LoadedTask[];
  readonly initial: Evaluated;
  readonly objectiveBefore: number;
  readonly evaluate: EvaluateModels;
  /** The common ancestor's tensors, for merge methods that measure task vectors against one. */
  readonly ancestor?: ReadonlyMap<string, FloatTensor>;
  /**
   * Aligns candidates somewhere else (task workers); by default each is aligned here in turn. A candidate that
   * cannot be aligned comes back with the reason. `statistics`: the step's examples for activation matching.
   */
  readonly alignCandidates?: (
    base: ModelInMemory,
    candidates: readonly Candidate[],
    statistics: Dataset | undefined,
  ) => Promise<CandidateAlignment[]>;
  /** Evaluates models on the first `examples` examples of each task, for ranking candidates before the grid. */
  readonly evaluateOnFirst: (
    models: readonly Map<string, FloatTensor>[],
    examples: number,
  ) => Promise<Evaluated[]>;
  /**
   * Unlabelled examples for activation statistics (plan `statistics`): activation matching and REPAIR read them.
   * Needed only when the plan asks for either.
   */
  readonly statistics?: Dataset;
  readonly onProgress?: (phase: 'align' | 'score', done: number, total: number, candidate: string) => void;
  /**
   * Evaluates candidates' merges along λ somewhere else (task workers), each merge built there from the base,
   * the zoo model and the maps, rather than here and sent as a model per λ: every point of each request, on the
   * first `examples` examples of each task when given (the ranking), else on all of them (the λ grid). It must
   * give what `evaluate`/`evaluateOnFirst` give on this step's merges; absent, the merges are built here.
   * `regmean`: the examples RegMean measures its Gram matrices on, when the plan merges by RegMean.
   */
  readonly evaluatePaths?: (
    base: ModelInMemory,
    requests: readonly PathRequest[],
    examples: number | undefined,
    regmean: Dataset | undefined,
  ) => Promise<Evaluated[][]>;
}

/** One candidate's merge to evaluate at each of `lambdas`. */
export interface PathRequest {
  readonly candidate: Candidate;
  readonly aligned: AlignedCandidate;
  readonly lambdas: readonly number[];
}

export interface StepOutcome {
  readonly scored: ScoredCandidate[];
  readonly pruned: PrunedCandidate[];
  readonly failed: { candidate: CandidateRef; reason: string }[];
  readonly accepted: ScoredCandidate | null;
  /** The objective after the step: the accepted merge's (with its fusion, if any), or the one before. */
  readonly objectiveAfter: number;
  /** The new state when a candidate was accepted. */
  readonly state?: Map<string, FloatTensor>;
}

/**
 * One step of MAL §6 on the current state: align every candidate, keep the best `topK` by the plan's ranking
 * (successive halving, the probe, or the weight cosine), evaluate each kept one along the λ grid, choose its λ,
 * and accept the candidate with the best objective among those whose λ* reaches λ_min, that improve the objective
 * and break no task floor. Then, where the plan asks, a λ per layer and further donors (MAL §7) are merged on top.
 */
export async function assemblyStep(inputs: StepInputs): Promise<StepOutcome> {
  const { plan } = inputs;
  const aligned: { candidate: Candidate; ref: CandidateRef; result: AlignedCandidate }[] = [];
  const failed: StepOutcome['failed'] = [];
  let done = 0;
  const unfit = unfitFor(plan);
  const alignAll =
    inputs.alignCandidates ??
    (async (base: ModelInMemory, candidates: readonly Candidate[]): Promise<CandidateAlignment[]> => {
      const out: CandidateAlignment[] = [];
      for (const candidate of candidates) {
        const zoo = await inputs.zooModel(candidate.model);
        try {
          out.push({
            candidate,
            aligned: await alignCandidate(
              base,
              zoo,
              candidate,
              plan.alignment,
              plan.seed,
              inputs.statistics === undefined ? undefined : { data: inputs.statistics },
            ),
          });
        } catch (error) {
          if (!(error instanceof MalError)) throw error;
          out.push({ candidate, error: error.message });
        }
        inputs.onProgress?.('align', ++done, candidates.length, candidateKey(candidate));
      }
      return out;
    });
  for (const result of await alignAll(inputs.base, inputs.candidates, inputs.statistics)) {
    const zoo = await inputs.zooModel(result.candidate.model);
    const ref: CandidateRef = { ...result.candidate, modelSha256: zoo.sha256 };
    const reason =
      result.aligned === undefined ? (result.error ?? 'alignment failed') : unfit(result.aligned);
    if (reason === undefined && result.aligned !== undefined)
      aligned.push({ candidate: result.candidate, ref, result: result.aligned });
    else failed.push({ candidate: ref, reason: reason ?? 'alignment failed' });
  }
  const ranking = await rankCandidates(aligned, inputs);
  const kept = ranking.kept.map(({ index, ranking: rankedBy }) => ({ ...aligned[index], rankedBy }));
  const pruned: PrunedCandidate[] = ranking.pruned.map(({ index, ranking: rankedBy }) => ({
    candidate: aligned[index].ref,
    preScore: rankedBy.value,
    rankedBy,
  }));

  const scored: ScoredCandidate[] = [];
  const paths = new Map<
    ScoredCandidate,
    { path: () => InterpolationPath; tensorLayers: Map<string, string> }
  >();
  done = 0;
  // Several candidates' curves go out in one batch, so a pool of threads or task workers has work for all.
  // With evaluatePaths no merged model is held here, so every kept candidate goes out at once.
  const perBatch =
    inputs.evaluatePaths === undefined
      ? Math.max(1, Math.floor(MODELS_PER_BATCH / plan.merge.grid.length))
      : Math.max(1, kept.length);
  for (let first = 0; first < kept.length; first += perBatch) {
    const batch = kept.slice(first, first + perBatch).map((k) => ({
      k,
      path: lazyPath(k.result, inputs),
    }));
    const evaluations =
      inputs.evaluatePaths === undefined
        ? await inputs.evaluate(
            batch.flatMap(({ path }) => plan.merge.grid.map((lambda) => path().at(lambda))),
          )
        : (
            await inputs.evaluatePaths(
              inputs.base,
              batch.map(({ k }) => ({ candidate: k.candidate, aligned: k.result, lambdas: plan.merge.grid })),
              undefined,
              regmeanOf(inputs)?.data,
            )
          ).flat();
    batch.forEach(({ k, path }, b) => {
      const offset = b * plan.merge.grid.length;
      const curve: CurvePoint[] = plan.merge.grid.map((lambda, i) => ({
        lambda,
        ...evaluations[offset + i],
      }));
      const s = scoreCurve(k.ref, k.result, k.rankedBy, curve, inputs);
      scored.push(s);
      paths.set(s, { path, tensorLayers: tensorLayersOf(inputs.base, k.result) });
      inputs.onProgress?.('score', ++done, kept.length, candidateKey(k.candidate));
    });
  }
  const chosen = chooseAccepted(scored);
  const objectiveBefore = inputs.objectiveBefore;
  if (chosen === null) return { scored, pruned, failed, accepted: null, objectiveAfter: objectiveBefore };
  const withPath = (s: ScoredCandidate): FusionCandidate => {
    const { path, tensorLayers } = paths.get(s)!;
    return { scored: s, path: path(), tensorLayers };
  };
  const fused =
    plan.merge.donors > 1 || plan.merge.perLayerLambda
      ? await fuseDonors({
          base: inputs.base.tensors,
          accepted: withPath(chosen),
          others: scored.filter((s) => s !== chosen).map(withPath),
          settings: plan.merge,
          evaluate: inputs.evaluate,
          floorBroken: (e) => brokenTaskFloor(inputs.tasks, inputs.initial, e),
        })
      : undefined;
  if (fused !== undefined) {
    const accepted = { ...chosen, fusion: fused.fusion };
    const i = scored.indexOf(chosen);
    scored[i] = accepted;
    return { scored, pruned, failed, accepted, objectiveAfter: fused.fusion.objective, state: fused.state };
  }
  return {
    scored,
    pruned,
    failed,
    accepted: chosen,
    objectiveAfter: chosen.objectiveAtLambda,
    state: paths.get(chosen)!.path().at(chosen.lambda),
  };
}

/** Why the plan's merge method cannot merge this alignment (a method for equal widths, other widths), if so. */
function unfitFor(plan: AssemblyPlan): (aligned: AlignedCandidate) => string | undefined {
  const { method } = planMergeChoice(plan.merge);
  return (aligned) => {
    try {
      assertMethodFitsWidths(method, aligned.maps.values());
      return undefined;
    } catch (error) {
      if (error instanceof MalError) return error.message;
      throw error;
    }
  };
}

/**
 * Ranks the aligned candidates by the plan's `preScore` and splits them into the `topK` kept for the λ grid and
 * the pruned, each with what it was ranked by. The data-driven rankings merge on the first examples of each task.
 */
async function rankCandidates(
  aligned: readonly { candidate: Candidate; result: AlignedCandidate }[],
  inputs: StepInputs,
): Promise<CandidateRankingResult> {
  const { plan } = inputs;
  const { topK } = plan.candidates;
  if (plan.candidates.preScore === 'alignment')
    return alignmentRanking(
      aligned.map((a) => a.result.preScore),
      topK,
    );
  const objectivesAt: ObjectivesAt = async (requests, examples) => {
    if (inputs.evaluatePaths !== undefined) {
      const evaluated = await inputs.evaluatePaths(
        inputs.base,
        requests.map(({ index, lambdas }) => ({
          candidate: aligned[index].candidate,
          aligned: aligned[index].result,
          lambdas,
        })),
        examples,
        regmeanOf(inputs)?.data,
      );
      return evaluated.map((points) => points.map((e) => e.objective));
    }
    const out: number[][] = [];
    // Paths are made per batch and dropped, so memory holds a batch of merged models, not every candidate's.
    let batch: { lambdas: readonly number[]; path: InterpolationPath }[] = [];
    let models = 0;
    const flush = async (): Promise<void> => {
      const evaluated = await inputs.evaluateOnFirst(
        batch.flatMap(({ lambdas, path }) => lambdas.map((lambda) => path.at(lambda))),
        examples,
      );
      let offset = 0;
      for (const { lambdas } of batch) {
        out.push(evaluated.slice(offset, offset + lambdas.length).map((e) => e.objective));
        offset += lambdas.length;
      }
      batch = [];
      models = 0;
    };
    for (const { index, lambdas } of requests) {
      batch.push({ lambdas, path: pathOf(aligned[index].result, inputs) });
      models += lambdas.length;
      if (models >= MODELS_PER_BATCH) await flush();
    }
    if (batch.length > 0) await flush();
    return out;
  };
  if (plan.candidates.preScore === 'probe')
    return probeRanking(aligned.length, topK, plan.candidates.probeExamples, objectivesAt);
  return successiveHalving(aligned.length, topK, plan.candidates.halving, objectivesAt);
}

/** The path, made on first use: with evaluatePaths most candidates' merges are never built here. */
function lazyPath(aligned: AlignedCandidate, inputs: StepInputs): () => InterpolationPath {
  let path: InterpolationPath | undefined;
  return () => {
    path ??= pathOf(aligned, inputs);
    return path;
  };
}

function pathOf(aligned: AlignedCandidate, inputs: StepInputs): InterpolationPath {
  const { plan } = inputs;
  return new InterpolationPath(
    inputs.base.tensors,
    aligned.problem,
    aligned.maps,
    plan.alignment.kernel,
    planPathMerge(plan.merge, plan.seed, inputs.ancestor, repairOf(inputs), regmeanOf(inputs)),
  );
}

/** The base layer (transplant unit) each tensor a candidate merges belongs to, for a λ per layer. */
function tensorLayersOf(base: ModelInMemory, aligned: AlignedCandidate): Map<string, string> {
  const layerOf = new Map<string, string>();
  for (const unit of transplantUnits(base.spec)) for (const t of unit.tensors) layerOf.set(t, unit.name);
  const out = new Map<string, string>();
  for (const pair of aligned.problem.pairs)
    out.set(pair.baseName, layerOf.get(pair.baseName) ?? pair.baseName);
  return out;
}

function scoreCurve(
  candidate: CandidateRef,
  aligned: AlignedCandidate,
  rankedBy: CandidateRanking,
  curve: CurvePoint[],
  inputs: StepInputs,
): ScoredCandidate {
  const { merge } = inputs.plan;
  const summary = summarizeLmc(
    curve.map((p) => ({ lambda: p.lambda, loss: p.objective, accuracy: 0 })),
    { epsilonFraction: merge.epsilon },
  );
  const threshold = summary.threshold;
  let chosen = curve.find((p) => p.lambda === threshold)!;
  if (merge.lambdaChoice === 'best') {
    for (const p of curve) if (p.lambda <= threshold && p.objective < chosen.objective) chosen = p;
  }
  const rejected = rejectionOf(
    { threshold, lambda: chosen.lambda, objective: chosen.objective },
    merge.lambdaMin,
    inputs.objectiveBefore,
    () => brokenTaskFloor(inputs.tasks, inputs.initial, chosen),
  );
  return {
    candidate,
    preScore: rankedBy.value,
    rankedBy,
    mapHashes: aligned.mapHashes,
    curve,
    threshold,
    lambda: chosen.lambda,
    objectiveAtLambda: chosen.objective,
    ...(rejected === undefined ? {} : { rejected }),
  };
}

/** RegMean's settings when the plan asks for it; a plan that does without the examples cannot run. */
function regmeanOf(inputs: StepInputs): RegMeanSettings | undefined {
  if (!inputs.plan.merge.regmean) return undefined;
  if (inputs.statistics === undefined) {
    throw new MalError('merge.regmean is on but the step was given no examples to measure Gram matrices on');
  }
  return { spec: inputs.base.spec, config: inputs.base.config, data: inputs.statistics };
}

/** REPAIR's settings when the plan asks for it; a plan that does without the examples cannot run. */
function repairOf(inputs: StepInputs): RepairSettings | undefined {
  if (inputs.plan.merge.repair !== 'repair') return undefined;
  if (inputs.statistics === undefined) {
    throw new MalError('merge.repair is repair but the step was given no examples to measure statistics on');
  }
  return { spec: inputs.base.spec, config: inputs.base.config, data: inputs.statistics };
}
