import { DonorMix, type DonorWeight, type MixDonor } from '../eval/donor-mix.js';
import type { FloatTensor } from '../tensor/tensor.js';
import type { CandidateRef, Donor, Evaluated, Fusion, ScoredCandidate } from './lineage.js';
import { improves } from './loop-policy.js';

/** A scored candidate with what merging it needs. */
export interface FusionCandidate extends MixDonor {
  readonly scored: ScoredCandidate;
}

export interface FusionSettings {
  /** The merge grid: the per-layer λ values tried. */
  readonly grid: readonly number[];
  readonly donors: number;
  readonly donorWeights: readonly number[];
  readonly perLayerLambda: boolean;
}

export interface FusionInputs {
  readonly base: ReadonlyMap<string, FloatTensor>;
  readonly accepted: FusionCandidate;
  /** The other scored candidates, in any order; those on the accepted one's base layers may join as donors. */
  readonly others: readonly FusionCandidate[];
  readonly settings: FusionSettings;
  /** Evaluates models on every task (the full objective data), in order. */
  readonly evaluate: (models: readonly Map<string, FloatTensor>[]) => Promise<Evaluated[]>;
  /** Why a merged model may not be taken (a task floor it breaks), if so. */
  readonly floorBroken: (evaluated: Evaluated) => string | undefined;
}

/**
 * MAL §7 on top of the accepted candidate at its λ: first a λ per layer (one coordinate sweep over the grid, each
 * layer with the others fixed), then further donors into the same base layers, best scored first, one at a time:
 * donor k+1 with weight w from the settings' list, the donors merged so far and the base scaled by 1 − w, kept
 * only if the objective improves and no floor breaks. Every change must lower the objective, so the result is
 * never worse than the accepted candidate alone. Undefined when nothing changed.
 */
export async function fuseDonors(
  inputs: FusionInputs,
): Promise<{ fusion: Fusion; state: Map<string, FloatTensor> } | undefined> {
  const { accepted, settings } = inputs;
  const chosen = accepted.scored.curve.find((p) => p.lambda === accepted.scored.lambda);
  if (chosen === undefined) return undefined;
  let current: Evaluated = chosen;
  const members: FusionCandidate[] = [accepted];
  let weights: DonorWeight[] = [{ weight: accepted.scored.lambda }];
  let evaluations = 0;
  let changed = false;

  /** Evaluates the weightings; takes the best if it improves the objective without breaking a floor. */
  const tryWeights = async (options: DonorWeight[][], mix: DonorMix): Promise<Evaluated | undefined> => {
    if (options.length === 0) return undefined;
    const evaluated = await inputs.evaluate(options.map((w) => mix.at(w)));
    evaluations += options.length;
    let best = -1;
    evaluated.forEach((e, i) => {
      if (improves(e.objective, current.objective) && (best < 0 || e.objective < evaluated[best].objective)) {
        if (inputs.floorBroken(e) === undefined) best = i;
      }
    });
    if (best < 0) return evaluated.reduce((a, b) => (b.objective < a.objective ? b : a));
    weights = options[best];
    current = evaluated[best];
    changed = true;
    return undefined;
  };

  const baseLayers = accepted.scored.candidate.baseLayers;
  if (settings.perLayerLambda && baseLayers.length > 1) {
    const mix = new DonorMix(inputs.base, [accepted]);
    for (const layer of baseLayers) {
      const shared = weights[0];
      const now = shared.layerWeights?.[layer] ?? shared.weight;
      const options = settings.grid
        .filter((lambda) => lambda !== now)
        .map((lambda) => [{ ...shared, layerWeights: { ...layerMap(baseLayers, shared), [layer]: lambda } }]);
      await tryWeights(options, mix);
    }
  }

  const declined: { candidate: CandidateRef; objective: number }[] = [];
  if (settings.donors > 1) {
    const pool = inputs.others
      .filter((o) => sameLayers(o.scored.candidate.baseLayers, baseLayers))
      .sort((a, b) => a.scored.objectiveAtLambda - b.scored.objectiveAtLambda);
    // Each refusal costs a few evaluations; two tries per free place bounds the step's cost.
    let tries = 2 * (settings.donors - 1);
    for (const donor of pool) {
      if (members.length >= settings.donors || tries === 0) break;
      if (members.some((m) => m.scored.candidate.model === donor.scored.candidate.model)) continue;
      tries--;
      const mix = new DonorMix(inputs.base, [...members, donor]);
      const options = settings.donorWeights.map((w) => [
        ...weights.map((d) => scaled(d, 1 - w)),
        { weight: w },
      ]);
      const refused = await tryWeights(options, mix);
      if (refused === undefined) members.push(donor);
      else declined.push({ candidate: donor.scored.candidate, objective: refused.objective });
    }
  }

  if (!changed) return undefined;
  const mix = new DonorMix(inputs.base, members);
  const donors: Donor[] = members.map((m, i) => ({
    candidate: m.scored.candidate,
    weight: weights[i].weight,
    ...(weights[i].layerWeights === undefined ? {} : { layerWeights: weights[i].layerWeights }),
    mapHashes: m.scored.mapHashes,
  }));
  return {
    fusion: { donors, objective: current.objective, tasks: current.tasks, evaluations, declined },
    state: mix.at(weights),
  };
}

function layerMap(layers: readonly string[], weight: DonorWeight): Record<string, number> {
  return Object.fromEntries(layers.map((l) => [l, weight.layerWeights?.[l] ?? weight.weight]));
}

function scaled(weight: DonorWeight, factor: number): DonorWeight {
  return {
    weight: weight.weight * factor,
    ...(weight.layerWeights === undefined
      ? {}
      : {
          layerWeights: Object.fromEntries(
            Object.entries(weight.layerWeights).map(([l, w]) => [l, w * factor]),
          ),
        }),
  };
}

function sameLayers(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((l, i) => l === b[i]);
}
