import type { Dataset } from '../data/dataset.js';
import { MalError } from '../errors.js';
import { InterpolationPath } from '../eval/interpolation-path.js';
import { summarizeLmc } from '../eval/lmc-metrics.js';
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
import { type Candidate, candidateKey } from './candidates.js';
import type { CandidateRef, CurvePoint, Evaluated, ScoredCandidate } from './lineage.js';
import { chooseAccepted, rejectionOf } from './loop-policy.js';
import { brokenTaskFloor, type LoadedTask } from './objective-evaluation.js';
import { planMergeChoice, planPathMerge } from './plan-merge.js';

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
   * cannot be aligned comes back with the reason.
   */
  readonly alignCandidates?: (
    base: ModelInMemory,
    candidates: readonly Candidate[],
  ) => Promise<CandidateAlignment[]>;
  /** Evaluates models on the first few examples of each task, for the probe pre-score. */
  readonly evaluateProbe: EvaluateModels;
  /**
   * Unlabelled examples for activation statistics (plan `statistics`): activation matching and REPAIR read them.
   * Needed only when the plan asks for either.
   */
  readonly statistics?: Dataset;
  readonly onProgress?: (phase: 'align' | 'score', done: number, total: number, candidate: string) => void;
}

export interface StepOutcome {
  readonly scored: ScoredCandidate[];
  readonly pruned: { candidate: CandidateRef; preScore: number }[];
  readonly failed: { candidate: CandidateRef; reason: string }[];
  readonly accepted: ScoredCandidate | null;
  /** The new state when a candidate was accepted. */
  readonly state?: Map<string, FloatTensor>;
}

/**
 * One step of MAL §6 on the current state: align every candidate, keep the best `topK` by the data-free
 * pre-score, evaluate each kept one along the λ grid, choose its λ, and accept the candidate with the best
 * objective among those whose λ* reaches λ_min, that improve the objective and break no task floor.
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
  for (const result of await alignAll(inputs.base, inputs.candidates)) {
    const zoo = await inputs.zooModel(result.candidate.model);
    const ref: CandidateRef = { ...result.candidate, modelSha256: zoo.sha256 };
    const reason =
      result.aligned === undefined ? (result.error ?? 'alignment failed') : unfit(result.aligned);
    if (reason === undefined && result.aligned !== undefined)
      aligned.push({ candidate: result.candidate, ref, result: result.aligned });
    else failed.push({ candidate: ref, reason: reason ?? 'alignment failed' });
  }
  const preScores = await preScore(aligned, inputs);
  // Best pre-score first; equal scores keep candidate order, so the choice is deterministic.
  const ranked = aligned
    .map((a, order) => ({ ...a, order, preScore: preScores[order] }))
    .sort((x, y) => y.preScore - x.preScore || x.order - y.order);
  const kept = ranked.slice(0, plan.candidates.topK);
  const pruned = ranked
    .slice(plan.candidates.topK)
    .map((a) => ({ candidate: a.ref, preScore: a.result.preScore }));

  const scored: ScoredCandidate[] = [];
  const paths = new Map<ScoredCandidate, InterpolationPath>();
  done = 0;
  // Several candidates' curves go out in one batch, so a pool of threads or task workers has work for all.
  const perBatch = Math.max(1, Math.floor(MODELS_PER_BATCH / plan.merge.grid.length));
  for (let first = 0; first < kept.length; first += perBatch) {
    const batch = kept.slice(first, first + perBatch).map((k) => ({
      k,
      path: new InterpolationPath(
        inputs.base.tensors,
        k.result.problem,
        k.result.maps,
        plan.alignment.kernel,
        planPathMerge(plan.merge, plan.seed, inputs.ancestor, repairOf(inputs)),
      ),
    }));
    const evaluations = await inputs.evaluate(
      batch.flatMap(({ path }) => plan.merge.grid.map((lambda) => path.at(lambda))),
    );
    batch.forEach(({ k, path }, b) => {
      const offset = b * plan.merge.grid.length;
      const curve: CurvePoint[] = plan.merge.grid.map((lambda, i) => ({
        lambda,
        ...evaluations[offset + i],
      }));
      const s = scoreCurve(k.ref, k.result, k.preScore, curve, inputs);
      scored.push(s);
      paths.set(s, path);
      inputs.onProgress?.('score', ++done, kept.length, candidateKey(k.candidate));
    });
  }
  const accepted = chooseAccepted(scored);
  if (accepted === null) return { scored, pruned, failed, accepted };
  return { scored, pruned, failed, accepted, state: paths.get(accepted)!.at(accepted.lambda) };
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
 * Higher is better. `alignment`: the weight cosine after alignment. `probe`: minus the best objective of the merge
 * at λ = 0.5 and λ = 1 on a few examples per task, which ranks whole-model and small-layer transplants alike.
 */
async function preScore(
  aligned: readonly { result: AlignedCandidate }[],
  inputs: StepInputs,
): Promise<number[]> {
  if (inputs.plan.candidates.preScore === 'alignment') return aligned.map((a) => a.result.preScore);
  const { plan } = inputs;
  const scores: number[] = [];
  for (const a of aligned) {
    const path = new InterpolationPath(
      inputs.base.tensors,
      a.result.problem,
      a.result.maps,
      plan.alignment.kernel,
      planPathMerge(plan.merge, plan.seed, inputs.ancestor, repairOf(inputs)),
    );
    const [half, full] = await inputs.evaluateProbe([path.at(0.5), path.at(1)]);
    scores.push(-Math.min(half.objective, full.objective));
  }
  return scores;
}

function scoreCurve(
  candidate: CandidateRef,
  aligned: AlignedCandidate,
  preScoreValue: number,
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
    preScore: preScoreValue,
    mapHashes: aligned.mapHashes,
    curve,
    threshold,
    lambda: chosen.lambda,
    objectiveAtLambda: chosen.objective,
    ...(rejected === undefined ? {} : { rejected }),
  };
}

/** REPAIR's settings when the plan asks for it; a plan that does without the examples cannot run. */
function repairOf(inputs: StepInputs): RepairSettings | undefined {
  if (inputs.plan.merge.repair !== 'repair') return undefined;
  if (inputs.statistics === undefined) {
    throw new MalError('merge.repair is repair but the step was given no examples to measure statistics on');
  }
  return { spec: inputs.base.spec, config: inputs.base.config, data: inputs.statistics };
}
