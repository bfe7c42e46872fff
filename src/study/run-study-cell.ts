import type { AlignmentProblem } from '../align/alignment-problem.js';
import { identitySpaceMap, type SpaceMap, type SpaceMaps } from '../align/space-map.js';
import { alignCandidate, candidateProblem, candidateTensorPairs } from '../assembly/candidate-alignment.js';
import type { Candidate } from '../assembly/candidates.js';
import type { Dataset } from '../data/dataset.js';
import { InterpolationPath } from '../eval/interpolation-path.js';
import { summarizeLmc } from '../eval/lmc-metrics.js';
import { evaluateTensors, exampleLayoutFor } from '../eval/model-evaluation.js';
import { isTransformerFamily, resolveTransformerSettings } from '../eval/transformer-settings.js';
import { transformerStructure } from '../eval/transformer-structure.js';
import type { StudyCell } from './study-cell.js';
import { studyCellAddress } from './study-cell-address.js';
import type { StudyCellResources, StudyModel } from './study-resources.js';
import type { DataRelation, StudyRow } from './study-row.js';

/**
 * Measures one cell of a study (MAL §5): the target's layers are aligned to the base's (weight matching, or
 * identity maps truncated or zero-padded when naive), the merged model `(1−λ)·θ + λ·T(θ_target)` on the
 * transplanted layers is evaluated at every λ of the grid on the base's evaluation data, and the curve is
 * summarised. The row depends on the cell alone (and the bytes of the files its sha256s name), so any worker
 * measures the same row.
 */
export async function runStudyCell(cell: StudyCell, resources: StudyCellResources): Promise<StudyRow> {
  await resources.prepare();
  const base = await resources.model(cell.base);
  const target = await resources.model(cell.target);
  const candidate: Candidate = {
    model: cell.target.id,
    layers: cell.targetLayers,
    baseLayers: cell.baseLayers,
  };
  let problem: AlignmentProblem;
  let maps: SpaceMaps;
  if (cell.aligned) {
    const aligned = await alignCandidate(base, target, candidate, cell.alignment, cell.seed);
    problem = aligned.problem;
    maps = aligned.maps;
  } else {
    problem = candidateProblem(base, target, candidateTensorPairs(base, target, candidate));
    maps = identityMaps(problem);
  }
  const dataset = await cellEvaluationData(cell, base, resources);
  const path = new InterpolationPath(base.tensors, problem, maps, cell.alignment.kernel, cell.unmatched);
  const points = [];
  for (const lambda of cell.grid) {
    const e = await evaluateTensors(path.at(lambda), base.spec, dataset, base.config, cell.batchSize);
    points.push({ lambda, loss: e.loss, accuracy: e.accuracy });
  }
  const summary = summarizeLmc(points, { epsilonFraction: cell.epsilonFraction });
  const widths = touchedWidths(problem);
  return {
    cell: studyCellAddress(cell),
    base: cell.base.id,
    target: cell.target.id,
    baseArch: cell.base.arch,
    targetArch: cell.target.arch,
    baseFamily: cell.base.family,
    targetFamily: cell.target.family,
    baseDepth: cell.base.depth,
    targetDepth: cell.target.depth,
    baseData: cell.base.data,
    targetData: cell.target.data,
    relation: dataRelation(cell.base, cell.target),
    position: cell.position,
    baseLayers: cell.baseLayers.join(','),
    targetLayers: cell.targetLayers.join(','),
    baseWidth: widths.base,
    targetWidth: widths.target,
    widthRatio: widths.base === 0 ? 1 : widths.target / widths.base,
    aligned: cell.aligned,
    evalData: cell.evalData,
    evalExamples: dataset.count,
    lambdas: points.map((p) => p.lambda),
    losses: points.map((p) => p.loss),
    accuracies: points.map((p) => p.accuracy),
    meanLoss: summary.meanLoss,
    barrier: summary.barrier,
    threshold: summary.threshold,
    accuracyAtHalf: valueAt(
      points.map((p) => p.lambda),
      points.map((p) => p.accuracy),
      0.5,
    ),
  };
}

/**
 * The examples a cell's curve is measured on: token sequences of the base's context for a language model (its
 * folder's tokenizer), labelled examples in the base's layout for the other families.
 */
export function cellEvaluationData(
  cell: StudyCell,
  base: StudyModel,
  resources: Pick<StudyCellResources, 'dataset' | 'text'>,
): Promise<Dataset> {
  return isTransformerFamily(base.spec.family)
    ? resources.text(cell.base, cell.evalData, contextOf(base), cell.evalLimit)
    : resources.dataset(cell.evalData, exampleLayoutFor(base.spec), cell.evalLimit);
}

/** How two models' training data relate: the same data name, the same domain (a split of it), or neither. */
export function dataRelation(
  base: { readonly data: string; readonly domain: string },
  target: { readonly data: string; readonly domain: string },
): DataRelation {
  if (base.data === target.data) return 'same';
  return base.domain === target.domain ? 'split' : 'different';
}

/** Naive interpolation: every space the transplant touches keeps unit i ↦ unit i, truncated to the narrower. */
function identityMaps(problem: AlignmentProblem): SpaceMaps {
  const maps = new Map<string, SpaceMap>();
  for (const s of problem.spaces) {
    maps.set(s.baseSpace, identitySpaceMap(s));
  }
  return maps;
}

/** Widths of the free spaces the transplant touches, summed, on each side. */
function touchedWidths(problem: AlignmentProblem): { base: number; target: number } {
  let base = 0;
  let target = 0;
  for (const s of problem.spaces) {
    if (s.kind !== 'free') continue;
    base += s.baseWidth;
    target += s.targetWidth;
  }
  return { base, target };
}

/** The curve's value at x, linear between the grid points around it (the grid runs from 0 to 1). */
export function valueAt(xs: readonly number[], ys: readonly number[], x: number): number {
  for (let i = 0; i < xs.length; i++) {
    if (xs[i] === x) return ys[i];
    if (xs[i] > x) {
      if (i === 0) return ys[0];
      const t = (x - xs[i - 1]) / (xs[i] - xs[i - 1]);
      return ys[i - 1] + t * (ys[i] - ys[i - 1]);
    }
  }
  return ys[ys.length - 1];
}

/** The tokens a language model reads per sequence: its context, as evaluation on text uses it. */
function contextOf(model: StudyModel): number {
  const embedding = transformerStructure(model.spec).positionEmbedding;
  const positionRows =
    embedding === undefined ? undefined : model.tensors.get(`${embedding}.weight`)?.shape[0];
  return resolveTransformerSettings(model.spec, model.config, positionRows).context;
}
