import { formatCorrelation, formatLambda, formatNumber } from '../report/number-format.js';
import { median } from './median.js';
import { spearmanCorrelation } from './rank-correlation.js';
import type { DataRelation, StudyPosition, StudyRow } from './study-row.js';

/*
 * The study's laws: sentences computed from the result rows and nothing else, each with the numbers it rests on,
 * so the report and the README state what the table shows and no more. A sentence is picked by the numbers (which
 * side wins, the sign and size of a correlation); with too few cells it says so instead of guessing.
 */

export type StudyLawId =
  | 'alignment'
  | 'width-ratio'
  | 'width-asymmetry'
  | 'position'
  | 'data-relation'
  | 'depth-difference';

export interface StudyLaw {
  readonly id: StudyLawId;
  /** What the law is about, as a heading. */
  readonly title: string;
  /** The law in words, its numbers formatted into it. */
  readonly sentence: string;
  /** The numbers the sentence states, unrounded, by name; a median of no values is left out. */
  readonly values: Readonly<Record<string, number>>;
  /** How many cells (for the alignment law: paired cells) the law is computed over. */
  readonly n: number;
  /** False when there were too few cells (or no variation) to state a law: the sentence then says why. */
  readonly enough: boolean;
}

/** The fewest cells on each side of a comparison (or in a correlation) for a law to be stated. */
export const MIN_CELLS = 5;

/** The laws of the paper's study that these rows can speak to, in a fixed order. */
export function studyLaws(rows: readonly StudyRow[]): StudyLaw[] {
  const subset = lawSubset(rows);
  return [
    alignmentLaw(rows),
    widthRatioLaw(subset),
    widthAsymmetryLaw(subset),
    positionLaw(subset),
    dataRelationLaw(subset),
    depthDifferenceLaw(subset),
  ];
}

/**
 * The rows every law but the alignment one is computed over: the aligned cells, the transplants MAL makes, when
 * there are any, else the naive ones. Mixing both would let the alignment effect blur every other comparison.
 */
interface LawSubset {
  readonly rows: readonly StudyRow[];
  /** "aligned " or "naive ", as the sentences name the cells ("" when there are none). */
  readonly kind: string;
}

function lawSubset(rows: readonly StudyRow[]): LawSubset {
  const aligned = rows.filter((r) => r.aligned);
  if (aligned.length > 0) return { rows: aligned, kind: 'aligned ' };
  return { rows, kind: rows.length > 0 ? 'naive ' : '' };
}

function alignmentLaw(rows: readonly StudyRow[]): StudyLaw {
  const title = 'Alignment against naive interpolation';
  const sides = new Map<string, { aligned: StudyRow[]; naive: StudyRow[] }>();
  for (const row of rows) {
    const key = [row.base, row.target, row.position, row.baseLayers, row.targetLayers, row.evalData].join(
      '\0',
    );
    let side = sides.get(key);
    if (side === undefined) {
      side = { aligned: [], naive: [] };
      sides.set(key, side);
    }
    (row.aligned ? side.aligned : side.naive).push(row);
  }
  // A cell measured twice (it should not be) counts once, at the median of its measurements.
  const sideMedian = (side: readonly StudyRow[], pick: (r: StudyRow) => number) => median(side.map(pick));
  const pairs: { aligned: StudyRow[]; naive: StudyRow[]; a: number; b: number }[] = [];
  for (const side of sides.values()) {
    const a = sideMedian(side.aligned, (r) => r.meanLoss);
    const b = sideMedian(side.naive, (r) => r.meanLoss);
    if (a !== undefined && b !== undefined) pairs.push({ ...side, a, b });
  }
  const n = pairs.length;
  if (n < MIN_CELLS) return notEnough('alignment', title, `${plural(n, 'paired cell')}`, n);
  const alignedLower = pairs.filter((p) => p.a < p.b).length;
  const naiveLower = pairs.filter((p) => p.a > p.b).length;
  const ties = n - alignedLower - naiveLower;
  const over = (side: 'aligned' | 'naive', pick: (r: StudyRow) => number) =>
    median(pairs.map((p) => sideMedian(p[side], pick) ?? Number.NaN));
  const medians = {
    alignedMeanLoss: median(pairs.map((p) => p.a)),
    naiveMeanLoss: median(pairs.map((p) => p.b)),
    alignedBarrier: over('aligned', (r) => r.barrier),
    naiveBarrier: over('naive', (r) => r.barrier),
    alignedThreshold: over('aligned', (r) => r.threshold),
    naiveThreshold: over('naive', (r) => r.threshold),
  };
  const claim =
    alignedLower > naiveLower
      ? 'Aligned transplants connect better than naive ones'
      : alignedLower < naiveLower
        ? 'Naive transplants connect better than aligned ones'
        : 'Neither aligned nor naive transplants connect better more often';
  const sentence =
    `${claim}: median mean-LMC loss ${loss(medians.alignedMeanLoss)} (aligned) vs ${loss(medians.naiveMeanLoss)} (naive) over ${plural(n, 'paired cell')}; ` +
    `aligned lower in ${alignedLower} of ${n}${ties > 0 ? `, equal in ${ties}` : ''}. ` +
    `Median barrier ${loss(medians.alignedBarrier)} vs ${loss(medians.naiveBarrier)}; median λ* ${lambda(medians.alignedThreshold)} vs ${lambda(medians.naiveThreshold)}.`;
  return {
    id: 'alignment',
    title,
    sentence,
    values: definedValues({ ...medians, alignedLower, naiveLower, ties }),
    n,
    enough: true,
  };
}

function widthRatioLaw(subset: LawSubset): StudyLaw {
  const rows = subset.rows.filter(
    (r) => Number.isFinite(r.widthRatio) && r.widthRatio > 0 && Number.isFinite(r.threshold),
  );
  return correlationLaw({
    id: 'width-ratio',
    title: 'λ* against the width ratio',
    subject: 'λ*',
    predictor: 'the width ratio (target/base)',
    x: rows.map((r) => r.widthRatio),
    y: rows.map((r) => r.threshold),
    kind: subset.kind,
  });
}

function depthDifferenceLaw(subset: LawSubset): StudyLaw {
  const rows = subset.rows.filter((r) => Number.isFinite(r.meanLoss));
  return correlationLaw({
    id: 'depth-difference',
    title: 'Mean-LMC loss against the depth difference',
    subject: 'Mean-LMC loss',
    predictor: 'the depth difference |base depth − target depth|',
    x: rows.map((r) => Math.abs(r.baseDepth - r.targetDepth)),
    y: rows.map((r) => r.meanLoss),
    kind: subset.kind,
  });
}

interface CorrelationQuestion {
  readonly id: StudyLawId;
  readonly title: string;
  readonly subject: string;
  readonly predictor: string;
  readonly x: readonly number[];
  readonly y: readonly number[];
  readonly kind: string;
}

function correlationLaw(q: CorrelationQuestion): StudyLaw {
  const n = q.x.length;
  const cells = plural(n, `${q.kind}cell`);
  if (n < MIN_CELLS) return notEnough(q.id, q.title, cells, n);
  const rho = spearmanCorrelation(q.x, q.y);
  if (rho === undefined) {
    const constant = new Set(q.x).size === 1 ? q.predictor : q.subject;
    return {
      id: q.id,
      title: q.title,
      sentence: `${capitalize(q.predictor)} and ${lowerFirst(q.subject)} have no rank correlation over these ${cells}: ${lowerFirst(constant)} takes one value.`,
      values: {},
      n,
      enough: false,
    };
  }
  const strength = Math.abs(rho);
  const trend =
    strength < 0.1
      ? `shows no monotone trend with ${q.predictor}`
      : `${rho > 0 ? 'rises' : 'falls'} ${strength < 0.3 ? 'weakly' : strength < 0.6 ? 'moderately' : 'strongly'} as ${q.predictor} grows`;
  return {
    id: q.id,
    title: q.title,
    sentence: `${q.subject} ${trend}: Spearman ρ = ${formatCorrelation(rho)} over ${cells}.`,
    values: { rho },
    n,
    enough: true,
  };
}

function widthAsymmetryLaw(subset: LawSubset): StudyLaw {
  const id = 'width-asymmetry';
  const title = 'Narrower → wider against wider → narrower';
  const finite = subset.rows.filter((r) => Number.isFinite(r.widthRatio) && Number.isFinite(r.threshold));
  const narrowerIntoWider = finite.filter((r) => r.widthRatio < 1);
  const widerIntoNarrower = finite.filter((r) => r.widthRatio > 1);
  const equal = finite.length - narrowerIntoWider.length - widerIntoNarrower.length;
  const n = narrowerIntoWider.length + widerIntoNarrower.length;
  const counts = `${narrowerIntoWider.length} narrower → wider and ${widerIntoNarrower.length} wider → narrower ${subset.kind}cells`;
  if (Math.min(narrowerIntoWider.length, widerIntoNarrower.length) < MIN_CELLS)
    return notEnough(id, title, counts, n, `${MIN_CELLS} needed on each side`);
  const up = median(narrowerIntoWider.map((r) => r.threshold))!;
  const down = median(widerIntoNarrower.map((r) => r.threshold))!;
  const upLoss = median(narrowerIntoWider.map((r) => r.meanLoss));
  const downLoss = median(widerIntoNarrower.map((r) => r.meanLoss));
  const claim =
    up > down
      ? 'Narrower → wider transplants (ratio < 1) merge further than wider → narrower ones (ratio > 1)'
      : up < down
        ? 'Wider → narrower transplants (ratio > 1) merge further than narrower → wider ones (ratio < 1)'
        : 'Narrower → wider (ratio < 1) and wider → narrower (ratio > 1) transplants merge equally far';
  const lossNote =
    upLoss === undefined || downLoss === undefined || upLoss === downLoss
      ? ''
      : ` (lower for ${upLoss < downLoss ? 'narrower → wider' : 'wider → narrower'})`;
  const sentence =
    `${claim}: median λ* ${lambda(up)} vs ${lambda(down)} over ${counts}; ` +
    `median mean-LMC loss ${loss(upLoss)} vs ${loss(downLoss)}${lossNote}.` +
    (equal > 0 ? ` ${plural(equal, 'cell')} of equal width left out.` : '');
  return {
    id,
    title,
    sentence,
    values: definedValues({
      narrowerIntoWiderThreshold: up,
      widerIntoNarrowerThreshold: down,
      narrowerIntoWiderMeanLoss: upLoss,
      widerIntoNarrowerMeanLoss: downLoss,
      narrowerIntoWiderCells: narrowerIntoWider.length,
      widerIntoNarrowerCells: widerIntoNarrower.length,
      equalWidthCells: equal,
    }),
    n,
    enough: true,
  };
}

function positionLaw(subset: LawSubset): StudyLaw {
  const positions = [...new Set(subset.rows.map((r) => r.position))].sort(comparePositions);
  return groupLaw({
    id: 'position',
    title: 'Position of the transplanted layers',
    by: 'position',
    groups: positions.map((p) => ({
      key: p,
      label: positionLabel(p),
      rows: subset.rows.filter((r) => r.position === p),
    })),
    kind: subset.kind,
  });
}

function dataRelationLaw(subset: LawSubset): StudyLaw {
  const order: readonly DataRelation[] = ['same', 'split', 'different'];
  const labels: Record<DataRelation, string> = {
    same: 'same data',
    split: 'split data',
    different: 'different data',
  };
  return groupLaw({
    id: 'data-relation',
    title: 'Relation of the training data',
    by: 'data relation',
    groups: order.map((relation) => ({
      key: relation,
      label: labels[relation],
      rows: subset.rows.filter((r) => r.relation === relation),
    })),
    kind: subset.kind,
  });
}

interface Group {
  readonly key: string;
  readonly label: string;
  readonly rows: readonly StudyRow[];
}

interface GroupQuestion {
  readonly id: StudyLawId;
  readonly title: string;
  readonly by: string;
  readonly groups: readonly Group[];
  readonly kind: string;
}

/** Medians of λ* and mean-LMC loss per group, for the groups with enough cells, and which group is highest. */
function groupLaw(q: GroupQuestion): StudyLaw {
  const sized = q.groups
    .map((g) => ({ ...g, cells: g.rows.filter((r) => Number.isFinite(r.threshold)) }))
    .filter((g) => g.rows.length > 0);
  const kept = sized.filter((g) => g.cells.length >= MIN_CELLS);
  const dropped = sized.filter((g) => g.cells.length < MIN_CELLS);
  const n = kept.reduce((total, g) => total + g.cells.length, 0);
  if (kept.length < 2) {
    const counts = sized.map((g) => `${g.label} ${g.cells.length}`).join(', ');
    return notEnough(
      q.id,
      q.title,
      `${q.kind}cells by ${q.by}: ${counts === '' ? 'none' : counts}`,
      n,
      `${MIN_CELLS} needed in each of two ${q.by} groups at least`,
    );
  }
  const thresholds = kept.map((g) => median(g.cells.map((r) => r.threshold))!);
  const losses = kept.map((g) => median(g.cells.map((r) => r.meanLoss)));
  const listed = (values: readonly (number | undefined)[], format: (v: number | undefined) => string) =>
    kept.map((g, i) => `${g.label} ${format(values[i])}`).join(', ');
  const lossValues = losses.filter((v): v is number => v !== undefined);
  const sentence =
    `By ${q.by} (${q.kind}cells): median λ* ${listed(thresholds, lambda)} (${extremes(kept, thresholds, 'highest', 'lowest')}); ` +
    `median mean-LMC loss ${listed(losses, loss)}${lossValues.length === kept.length ? ` (${extremes(kept, losses as number[], 'lowest', 'highest')})` : ''}; ` +
    `${kept.map((g) => g.cells.length).join(', ')} cells.` +
    (dropped.length > 0
      ? ` Left out with fewer than ${MIN_CELLS} cells: ${dropped.map((g) => `${g.label} (${g.cells.length})`).join(', ')}.`
      : '');
  const values: Record<string, number | undefined> = {};
  kept.forEach((g, i) => {
    values[`${g.key}Threshold`] = thresholds[i];
    values[`${g.key}MeanLoss`] = losses[i];
    values[`${g.key}Cells`] = g.cells.length;
  });
  return { id: q.id, title: q.title, sentence, values: definedValues(values), n, enough: true };
}

/**
 * "highest for first, lowest for last", reading `first` as the end the first word names: for λ* the highest is
 * best, for loss the lowest. Ties name every group that shares the extreme; all equal says so.
 */
function extremes(
  groups: readonly Group[],
  values: readonly number[],
  first: string,
  second: string,
): string {
  const top = first === 'highest' ? Math.max(...values) : Math.min(...values);
  const bottom = first === 'highest' ? Math.min(...values) : Math.max(...values);
  if (top === bottom) return `equal for all`;
  const at = (v: number) =>
    groups
      .filter((_, i) => values[i] === v)
      .map((g) => g.label)
      .join(' and ');
  return `${first} for ${at(top)}, ${second} for ${at(bottom)}`;
}

function notEnough(id: StudyLawId, title: string, counts: string, n: number, need?: string): StudyLaw {
  return {
    id,
    title,
    sentence: `${title}: not enough cells (${counts}; ${need ?? `${MIN_CELLS} needed`}).`,
    values: {},
    n,
    enough: false,
  };
}

const POSITION_ORDER: Record<string, number> = { first: 0, middle: 1, last: 2 };

/** first, middle, last, then layer-N by N, then all: the order a reader walks through a network. */
export function comparePositions(a: StudyPosition, b: StudyPosition): number {
  const rank = (p: StudyPosition): [number, number] => {
    if (p in POSITION_ORDER) return [POSITION_ORDER[p], 0];
    const layer = /^layer-(\d+)$/.exec(p);
    if (layer !== null) return [3, Number(layer[1])];
    return [p === 'all' ? 4 : 5, 0];
  };
  const [ra, na] = rank(a);
  const [rb, nb] = rank(b);
  return ra - rb || na - nb || (a < b ? -1 : a > b ? 1 : 0);
}

function positionLabel(position: StudyPosition): string {
  if (position === 'all') return 'all layers';
  const layer = /^layer-(\d+)$/.exec(position);
  return layer !== null ? `layer ${layer[1]}` : position;
}

function definedValues(values: Record<string, number | undefined>): Record<string, number> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Record<
    string,
    number
  >;
}

function loss(value: number | undefined): string {
  return value === undefined ? '—' : formatNumber(value, 3);
}

function lambda(value: number | undefined): string {
  return value === undefined ? '—' : formatLambda(value);
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function lowerFirst(text: string): string {
  return text === 'λ*' ? text : text.charAt(0).toLowerCase() + text.slice(1);
}
