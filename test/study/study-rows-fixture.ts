import { createHash } from 'node:crypto';
import { summarizeLmc } from '../../src/eval/lmc-metrics.js';
import type { DataRelation, StudyModelInfo, StudyPosition, StudyRow } from '../../src/study/study-row.js';

/*
 * Synthetic study rows shared by the laws' and the report's tests. The full sweep is built from formulas whose
 * trends are known by construction (alignment lowers the barrier, a narrower target into a wider base merges
 * further, later positions and farther data connect worse), and the ids hold markup characters to test escaping.
 */

/** A model id and an architecture label that must be escaped wherever they are shown. */
export const ODD_ID = `mlp<64>&"fashion"'s`;
export const ODD_ARCH = `mlp<64x64>&'deep'`;

export const GRID: readonly number[] = Array.from({ length: 11 }, (_, i) => i / 10);

interface FixtureArch {
  readonly arch: string;
  readonly width: number;
  readonly depth: number;
}

/** Deliberately listed out of width order, so the report's own ordering is what a test sees. */
export const FIXTURE_ARCHS: readonly FixtureArch[] = [
  { arch: 'mlp-h128', width: 128, depth: 2 },
  { arch: ODD_ARCH, width: 64, depth: 3 },
  { arch: 'mlp-h32', width: 32, depth: 2 },
  { arch: 'mlp-h64', width: 64, depth: 2 },
];

const DATASETS = [
  { data: 'mnist-a', domain: 'digits' },
  { data: 'mnist-b', domain: 'digits' },
  { data: 'fashion', domain: 'clothes' },
] as const;

export const FIXTURE_POSITIONS: readonly StudyPosition[] = ['first', 'middle', 'last'];

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export const FIXTURE_MODELS: readonly StudyModelInfo[] = FIXTURE_ARCHS.flatMap((a) =>
  DATASETS.map((d) => {
    const id = a.arch === 'mlp-h64' && d.data === 'fashion' ? ODD_ID : `${a.arch}-${d.data}`;
    return {
      id,
      sha256: sha256(id),
      family: 'mlp',
      arch: a.arch,
      depth: a.depth,
      data: d.data,
      domain: d.domain,
    };
  }),
);

const widthOf = (arch: string): number => FIXTURE_ARCHS.find((a) => a.arch === arch)!.width;

function relationOf(base: StudyModelInfo, target: StudyModelInfo): DataRelation {
  if (base.data === target.data) return 'same';
  return base.domain === target.domain ? 'split' : 'different';
}

/** A small deterministic wobble in [−1, 1) from a string, so cells are not all on one line. */
function wobble(key: string): number {
  return Number.parseInt(sha256(key).slice(0, 8), 16) / 2 ** 31 - 1;
}

/** A row with plausible defaults; the laws' tests override the few fields a law reads. */
export function studyRow(overrides: Partial<StudyRow> = {}): StudyRow {
  const row: StudyRow = {
    cell: '',
    base: 'base',
    target: 'target',
    baseArch: 'mlp-h64',
    targetArch: 'mlp-h64',
    baseFamily: 'mlp',
    targetFamily: 'mlp',
    baseDepth: 2,
    targetDepth: 2,
    baseData: 'mnist-a',
    targetData: 'mnist-a',
    relation: 'same',
    position: 'first',
    baseLayers: 'fc1',
    targetLayers: 'fc1',
    baseWidth: 64,
    targetWidth: 64,
    widthRatio: 1,
    aligned: true,
    evalData: 'mnist:test',
    evalExamples: 1000,
    lambdas: [0, 0.5, 1],
    losses: [0.3, 0.5, 0.35],
    accuracies: [0.92, 0.85, 0.9],
    meanLoss: 0.38,
    barrier: 0.175,
    threshold: 0,
    accuracyAtHalf: 0.85,
    ...overrides,
  };
  return { ...row, cell: row.cell === '' ? sha256(JSON.stringify(row)) : row.cell };
}

/**
 * Every ordered pair of distinct fixture models at every position, aligned and naive: 12 models, 132 pairs,
 * 792 rows, sorted by cell as a study table is. Loss along λ is the straight line between the ends plus a bump
 * 4h·λ(1−λ), and the summary (mean loss, barrier, λ*) is computed from that curve as the study computes it.
 */
export function studyRowsFixture(): StudyRow[] {
  const rows: StudyRow[] = [];
  const layers: Record<string, [string, string]> = {
    first: ['fc1', 'fc1'],
    middle: ['fc2', 'fc2'],
    last: ['fc3', 'fc3'],
  };
  for (const base of FIXTURE_MODELS) {
    for (const target of FIXTURE_MODELS) {
      if (base.id === target.id) continue;
      const relation = relationOf(base, target);
      for (const position of FIXTURE_POSITIONS) {
        for (const aligned of [true, false]) {
          const baseWidth = widthOf(base.arch);
          const targetWidth = widthOf(target.arch);
          const ratio = targetWidth / baseWidth;
          const key = `${base.id}|${target.id}|${position}|${aligned}`;
          const height =
            0.12 +
            (aligned ? 0 : 0.25) +
            0.06 * Math.log2(ratio) +
            0.05 * FIXTURE_POSITIONS.indexOf(position) +
            { same: 0, split: 0.04, different: 0.12 }[relation] +
            0.03 * wobble(key);
          const l0 = 0.3;
          const l1 = relation === 'different' ? 0.9 : relation === 'split' ? 0.45 : 0.32;
          const losses = GRID.map((l) => (1 - l) * l0 + l * l1 + 4 * Math.max(0, height) * l * (1 - l));
          const accuracies = losses.map((v) => Math.max(0.1, Math.min(0.98, 1.05 - 0.45 * v)));
          const summary = summarizeLmc(
            GRID.map((lambda, i) => ({ lambda, loss: losses[i], accuracy: accuracies[i] })),
            { epsilonFraction: 0.5 },
          );
          rows.push(
            studyRow({
              base: base.id,
              target: target.id,
              baseArch: base.arch,
              targetArch: target.arch,
              baseDepth: base.depth,
              targetDepth: target.depth,
              baseData: base.data,
              targetData: target.data,
              relation,
              position,
              baseLayers: layers[position][0],
              targetLayers: layers[position][1],
              baseWidth,
              targetWidth,
              widthRatio: ratio,
              aligned,
              evalData: `${base.data}:test`,
              lambdas: GRID,
              losses,
              accuracies,
              meanLoss: summary.meanLoss,
              barrier: summary.barrier,
              threshold: summary.threshold,
              accuracyAtHalf: accuracies[5],
            }),
          );
        }
      }
    }
  }
  return rows.sort((a, b) => (a.cell < b.cell ? -1 : a.cell > b.cell ? 1 : 0));
}
