/**
 * The split demo's case: the written model is calibrated (0.4028 on the objective), the raw best zoo model scores
 * 0.4759 and the calibrated one 0.3819. The report and the model card must set the result beside the calibrated
 * zoo model, which beats it, never claim it beats the raw one.
 */
import { describe, expect, it } from 'vitest';
import type { Baseline, Evaluated, Lineage } from '../../src/assembly/lineage.js';
import { renderAssemblyReport } from '../../src/report/assembly-report.js';
import { comparableBestZoo } from '../../src/report/comparable-best-zoo.js';
import { renderModelCard } from '../../src/report/model-card.js';
import { lineageFixture, planFixture } from './lineage-fixture.js';

const evaluated = (objective: number): Evaluated => ({
  objective,
  tasks: [{ name: 'fashion-mnist:val', loss: objective, accuracy: 0.85 }],
});
const baseline = (name: Baseline['name'], models: string[], objective: number): Baseline => ({
  name,
  label: name,
  models,
  objective: evaluated(objective),
  report: [],
});

const calibratedRun: Lineage = {
  ...lineageFixture,
  initial: evaluated(0.4028),
  bestZooModel: { id: 'mlp-h512', ...evaluated(0.4759) },
  final: { ...evaluated(0.4028), sha256: lineageFixture.final.sha256 },
  calibration: {
    kind: 'biases',
    temperature: 1,
    biases: [0, 0],
    fittedOn: ['fashion-mnist:val'],
    uncalibrated: { ...evaluated(0.4526), sha256: lineageFixture.final.sha256 },
  },
  baselines: {
    calibration: 'biases',
    report: [],
    entries: [
      baseline('best-zoo', ['mlp-h512'], 0.4759),
      baseline('best-zoo-calibrated', ['mlp-h512'], 0.3819),
    ],
    excluded: [],
    gapClosed: {
      on: 'objective',
      assembled: 'assembled-calibrated',
      accuracies: { assembled: null, bestSingle: null, ensemble: null },
      value: null,
    },
  },
};

describe('the best zoo model the result is set beside', () => {
  it('is the calibrated one when the written model is calibrated', () => {
    expect(comparableBestZoo(calibratedRun)).toMatchObject({ id: 'mlp-h512', calibrated: true });
    expect(comparableBestZoo(calibratedRun)?.evaluated.objective).toBe(0.3819);
  });

  it('is the calibrated one when the loop scored calibrated, even without a final calibration', () => {
    const scored: Lineage = {
      ...calibratedRun,
      calibration: undefined,
      tasks: calibratedRun.tasks.map((t) => ({ ...t, scoring: 'calibrated' as const })),
    };
    expect(comparableBestZoo(scored)?.evaluated.objective).toBe(0.3819);
  });

  it('is the raw one for a raw run (the fixture)', () => {
    expect(comparableBestZoo(lineageFixture)).toMatchObject({ calibrated: false });
    expect(comparableBestZoo(lineageFixture)?.evaluated.objective).toBe(
      lineageFixture.bestZooModel?.objective,
    );
  });

  it('makes the report headline say the calibrated zoo model is better, not that the assembly is', () => {
    const html = renderAssemblyReport(calibratedRun);
    expect(html).toContain('Best single zoo model, calibrated');
    expect(html).toMatch(/assembled is <span class="worse">worse by 0\.0209/);
    expect(html).not.toMatch(/assembled is <span class="better">/);
    expect(html).toContain('best single zoo model, calibrated 0.3819');
  });

  it('makes the model card name the calibrated zoo model', () => {
    const card = renderModelCard(calibratedRun, planFixture);
    expect(card).toContain('best single zoo model, calibrated, `mlp-h512`, scores 0.3819');
    expect(card).not.toContain('scores 0.4759');
  });
});
