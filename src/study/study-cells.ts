import type { BackendName } from '../compute/backend-preference.js';
import { SeededRandom } from '../random/seeded-random.js';
import type { StudyCell } from './study-cell.js';
import { StudyError } from './study-file.js';
import type { StudyPosition } from './study-row.js';
import type { PositionChoice, Study } from './study-schema.js';
import type { StudyUnit, StudyZooModel } from './study-zoo.js';

export interface StudyCells {
  readonly cells: readonly StudyCell[];
  /** Ordered pairs measured (after sampling). */
  readonly pairs: number;
  /** Ordered pairs of distinct models that can never pair a layer (other families, no alike layer). */
  readonly excludedPairs: number;
  /** Ordered pairs that could be measured, before sampling. */
  readonly eligiblePairs: number;
}

/**
 * Expands a study into its cells, deterministically: ordered pairs (base ≠ target) in zoo order (or a seeded
 * sample of them, kept in that order), then the study's positions, then aligned before naive as listed. A
 * position a pair cannot fill (no middle layer in a two-layer model, no same-kind layer, `all` across different
 * layer structures) is left out for that pair. `backend` is the resolved backend every cell is measured on.
 */
export function expandStudyCells(
  study: Study,
  models: readonly StudyZooModel[],
  backend: BackendName,
): StudyCells {
  const eligible: [StudyZooModel, StudyZooModel][] = [];
  let excludedPairs = 0;
  for (const base of models) {
    for (const target of models) {
      if (base === target) continue;
      if (canPair(base, target)) eligible.push([base, target]);
      else excludedPairs++;
    }
  }
  const chosen =
    study.pairs === 'all' ? eligible : samplePairs(eligible, study.pairs.sample, study.pairs.seed);
  const cells: StudyCell[] = [];
  for (const [base, target] of chosen) {
    const dataset = study.datasets.find((d) => d.name === base.model.data);
    if (dataset === undefined)
      throw new StudyError(`${study.file}: datasets: no data set '${base.model.data}'`);
    for (const choice of study.positions) {
      for (const transplant of positionTransplants(choice, base.units, target.units)) {
        for (const alignment of study.alignment) {
          cells.push({
            base: base.model,
            target: target.model,
            position: transplant.position,
            baseLayers: transplant.baseLayers,
            targetLayers: transplant.targetLayers,
            aligned: alignment === 'aligned',
            alignment: study.matching,
            seed: study.seed,
            evalData: dataset.eval,
            evalLimit: study.evaluate.limit,
            batchSize: study.evaluate.batchSize,
            grid: study.grid,
            epsilonFraction: study.epsilon,
            unmatched: study.unmatched,
            backend,
          });
        }
      }
    }
  }
  return { cells, pairs: chosen.length, excludedPairs, eligiblePairs: eligible.length };
}

/** Models of one family with a layer of the same kind and ends in common; others could only fail on their fixed spaces. */
function canPair(base: StudyZooModel, target: StudyZooModel): boolean {
  if (base.model.family !== target.model.family) return false;
  return base.units.some((b) => target.units.some((t) => t.kind === b.kind && t.ends === b.ends));
}

/**
 * The target layer that takes base layer `index`'s place: of those with its kind and ends, the one at the nearest
 * relative depth (the first of equals), as the assembly's same-depth candidates choose.
 */
function nearestAlike(
  index: number,
  base: readonly StudyUnit[],
  target: readonly StudyUnit[],
): StudyUnit | undefined {
  const relative = (i: number, n: number): number => (n === 1 ? 0 : i / (n - 1));
  const depth = relative(index, base.length);
  const b = base[index];
  let best: StudyUnit | undefined;
  let bestGap = Number.POSITIVE_INFINITY;
  target.forEach((u, j) => {
    if (u.kind !== b.kind || u.ends !== b.ends) return;
    const gap = Math.abs(relative(j, target.length) - depth);
    if (gap < bestGap - 1e-12) {
      best = u;
      bestGap = gap;
    }
  });
  return best;
}

/** `count` pairs drawn without repeats by a seeded shuffle, kept in their original order. */
function samplePairs<T>(pairs: readonly T[], count: number, seed: number): T[] {
  if (count >= pairs.length) return [...pairs];
  const random = new SeededRandom(seed);
  const order = random.permutation(pairs.length).slice(0, count);
  return [...order].sort((a, b) => a - b).map((i) => pairs[i]);
}

interface Transplant {
  readonly position: StudyPosition;
  readonly baseLayers: readonly string[];
  readonly targetLayers: readonly string[];
}

/** The transplants one position choice gives a pair: base layer(s) and the target layer(s) put in their place. */
export function positionTransplants(
  choice: PositionChoice,
  base: readonly StudyUnit[],
  target: readonly StudyUnit[],
): Transplant[] {
  const single = (position: StudyPosition, index: number): Transplant[] => {
    const b = base[index];
    const t = nearestAlike(index, base, target);
    return t === undefined ? [] : [{ position, baseLayers: [b.name], targetLayers: [t.name] }];
  };
  const n = base.length;
  if (n === 0) return [];
  switch (choice) {
    case 'first':
      return single('first', 0);
    case 'middle':
      // A model of one or two layers has none between its first and last.
      return n < 3 ? [] : single('middle', Math.floor((n - 1) / 2));
    case 'last':
      return single('last', n - 1);
    case 'each':
      return base.flatMap((_, i) => single(`layer-${i}`, i));
    case 'all':
      return target.length === n && target.every((u, i) => u.kind === base[i].kind)
        ? [{ position: 'all', baseLayers: base.map((u) => u.name), targetLayers: target.map((u) => u.name) }]
        : [];
  }
}
