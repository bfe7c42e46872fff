import { createHash } from 'node:crypto';
import { type ActivationProbe, activationMatching } from '../align/activation-matching.js';
import { type AlignmentProblem, planAlignment, withTensors } from '../align/alignment-problem.js';
import { mapTargetTensor } from '../align/apply-maps.js';
import type { SpaceMaps } from '../align/space-map.js';
import { weightMatching } from '../align/weight-matching.js';
import { IncompatibleModelsError, MalError } from '../errors.js';
import type { ForwardConfig } from '../eval/forward.js';
import type { ArchitectureSpec, SpaceWidths } from '../spec/architecture-spec.js';
import type { FloatTensor } from '../tensor/tensor.js';
import type { AlignmentSettings } from './assembly-plan.js';
import type { Candidate } from './candidates.js';
import { pairUnitTensors, transplantUnits } from './transplant-units.js';

export interface ModelInMemory {
  readonly spec: ArchitectureSpec;
  readonly widths: SpaceWidths;
  readonly tensors: ReadonlyMap<string, FloatTensor>;
  /** Forward settings shapes cannot give (activation, pooling), for activation statistics; default the spec's. */
  readonly config?: ForwardConfig;
}

/** A candidate's alignment, or why it could not be aligned (an IncompatibleModelsError's message). */
export interface CandidateAlignment {
  readonly candidate: Candidate;
  readonly aligned?: AlignedCandidate;
  readonly error?: string;
}

export interface AlignedCandidate {
  readonly problem: AlignmentProblem;
  readonly maps: SpaceMaps;
  /** Cosine between the base tensors and the aligned target tensors over the transplant: a data-free score. */
  readonly preScore: number;
  readonly mapHashes: Record<string, string>;
}

/**
 * Aligns a candidate's zoo units to the base units they would replace: their tensors are paired by role, the
 * spaces they touch are matched by weight matching (both maps of a lone layer, jointly for several layers of one
 * model) or, with `match: activations`, by the correlation of their activations on the probe's examples (both
 * models read the same inputs, so a lone layer's input and output spaces are both matched that way), and fixed
 * spaces must agree. Throws IncompatibleModelsError with the reason when they cannot.
 */
export async function alignCandidate(
  base: ModelInMemory,
  zooModel: ModelInMemory,
  candidate: Candidate,
  settings: AlignmentSettings,
  seed: number,
  probe?: ActivationProbe,
): Promise<AlignedCandidate> {
  const pairs = candidateTensorPairs(base, zooModel, candidate);
  const problem = candidateProblem(base, zooModel, pairs);
  const result =
    settings.match === 'activations'
      ? activationMatching(problem, base, zooModel, requireProbe(probe))
      : await weightMatching(problem, { ...settings, seed });
  let dot = 0;
  let baseNorm = 0;
  let targetNorm = 0;
  for (const pair of problem.pairs) {
    const mapped = mapTargetTensor(
      { ...pair, baseShape: pair.base.shape },
      result.maps,
      settings.kernel,
    ).data;
    for (let i = 0; i < mapped.length; i++) {
      dot += pair.base.data[i] * mapped[i];
      baseNorm += pair.base.data[i] * pair.base.data[i];
      targetNorm += mapped[i] * mapped[i];
    }
  }
  const denominator = Math.sqrt(baseNorm * targetNorm);
  const mapHashes: Record<string, string> = {};
  for (const [space, m] of result.maps) {
    mapHashes[space] = createHash('sha256')
      .update(new Uint8Array(m.map.buffer, m.map.byteOffset, m.map.byteLength))
      .digest('hex');
  }
  return { problem, maps: result.maps, preScore: denominator > 0 ? dot / denominator : 0, mapHashes };
}

/**
 * The (base, zoo) tensor pairs a candidate's alignment reads: its tensors paired by role, layer by layer. Throws
 * IncompatibleModelsError with the reason when the layers do not pair.
 */
export function candidateTensorPairs(
  base: ModelInMemory,
  zoo: ModelInMemory,
  candidate: Candidate,
): [string, string][] {
  if (candidate.layers.length !== candidate.baseLayers.length || candidate.layers.length === 0) {
    throw new IncompatibleModelsError('a candidate pairs as many zoo layers as base layers, at least one');
  }
  const baseUnits = new Map(transplantUnits(base.spec).map((u) => [u.name, u]));
  const zooUnits = new Map(transplantUnits(zoo.spec).map((u) => [u.name, u]));
  const pairs: [string, string][] = [];
  candidate.layers.forEach((layer, i) => {
    const baseLayer = candidate.baseLayers[i];
    const b = baseUnits.get(baseLayer);
    const z = zooUnits.get(layer);
    if (b === undefined)
      throw new IncompatibleModelsError(`base has no dense or convolution layer '${baseLayer}'`);
    if (z === undefined)
      throw new IncompatibleModelsError(`zoo model has no dense or convolution layer '${layer}'`);
    const unitPairs = pairUnitTensors(b, z);
    if (unitPairs === undefined) {
      throw new IncompatibleModelsError(
        `layers '${layer}' (${z.kind}) and '${baseLayer}' (${b.kind}) differ in structure`,
      );
    }
    pairs.push(...unitPairs);
  });
  return pairs;
}

/** The alignment problem of a candidate's tensor pairs; a remote alignment rebuilds it here, so no tensors travel back. */
export function candidateProblem(
  base: ModelInMemory,
  zoo: ModelInMemory,
  pairs: readonly [string, string][],
): AlignmentProblem {
  return withTensors(planAlignment(base, zoo, pairs), base.tensors, zoo.tensors);
}

/** Thrown where activation matching is asked for without examples (e.g. a task worker that holds no data). */
export class MissingProbeDataError extends MalError {
  override readonly name = 'MissingProbeDataError';
}

function requireProbe(probe: ActivationProbe | undefined): ActivationProbe {
  if (probe === undefined) {
    throw new MissingProbeDataError(
      'alignment.match is activations but no examples were given to measure activations on: give the plan statistics.data, or objective tasks whose data stands in for it',
    );
  }
  return probe;
}
