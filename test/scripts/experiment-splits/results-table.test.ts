import { describe, expect, it } from 'vitest';
import type {
  ReplicateResult,
  ReplicateScores,
  RunResult,
} from '../../../scripts/experiment-splits/measure.js';
import { averageSetting, resultsMarkdown } from '../../../scripts/experiment-splits/results-table.js';

const noInterval = { difference: 0, low: 0, high: 0, resamples: 1 };

function run(name: string, accuracy: number, seconds: number[]): RunResult {
  const total = seconds.reduce((a, b) => a + b, 0);
  return {
    name,
    label: name,
    accuracy,
    vsBaseCalibrated: noInterval,
    vsBestZooCalibrated: noInterval,
    gapClosed: null,
    stepTimes: {
      steps: seconds.length,
      accepted: seconds.length,
      meanSeconds: total / seconds.length,
      totalSeconds: total,
    },
  };
}

function replicate(
  seed: number,
  scores: { base: number[]; zoo: number[]; assembled: number[] },
  references: { ensembleCalibrated: number },
  seconds: number[],
): { result: ReplicateResult; scores: ReplicateScores } {
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  return {
    result: {
      setting: '2-way',
      seed,
      zooSize: 4,
      calibration: 'biases',
      references: {
        base: mean(scores.base) - 0.1,
        baseCalibrated: mean(scores.base),
        bestZoo: { id: 'z', accuracy: mean(scores.zoo) - 0.1 },
        bestZooCalibrated: { id: 'z', accuracy: mean(scores.zoo) },
        ensemble: references.ensembleCalibrated - 0.01,
        ensembleCalibrated: references.ensembleCalibrated,
        pairEnsembleCalibrated: references.ensembleCalibrated - 0.02,
      },
      runs: [run('assemble', mean(scores.assembled), seconds)],
      healUnavailable: "plan.yaml: unknown key 'heal'",
      lineageAgreement: 0,
    },
    scores: {
      baseCalibrated: Uint8Array.from(scores.base),
      bestZooCalibrated: Uint8Array.from(scores.zoo),
      runs: new Map([['assemble', Uint8Array.from(scores.assembled)]]),
    },
  };
}

describe('split experiment tables', () => {
  const first = replicate(
    1,
    { base: [1, 0, 0, 1], zoo: [0, 1, 0, 1], assembled: [1, 1, 0, 1] },
    { ensembleCalibrated: 1 },
    [2, 4],
  );
  const second = replicate(
    2,
    { base: [1, 1, 0, 0], zoo: [0, 0, 1, 1], assembled: [1, 1, 1, 0] },
    { ensembleCalibrated: 0.75 },
    [6],
  );

  it('averages accuracies over the seeds and bootstraps all their examples together', () => {
    const average = averageSetting([first, second], 0);
    expect(average.seeds).toEqual([1, 2]);
    expect(average.references.baseCalibrated).toBeCloseTo(0.5, 12);
    expect(average.references.ensembleCalibrated).toBeCloseTo(0.875, 12);
    const assembled = average.runs[0];
    expect(assembled.accuracy).toBeCloseTo(0.75, 12);
    // (6 correct − 4 correct) / 8 examples, over both seeds' examples.
    expect(assembled.vsBaseCalibrated.difference).toBeCloseTo(0.25, 12);
    expect(assembled.vsBestZooCalibrated.difference).toBeCloseTo(0.25, 12);
    expect(assembled.vsBaseCalibrated.low).toBeLessThanOrEqual(0.25);
    expect(assembled.vsBaseCalibrated.high).toBeGreaterThanOrEqual(0.25);
    // Best single = max(0.5, 0.5); (0.75 − 0.5) / (0.875 − 0.5).
    expect(assembled.gapClosed).toBeCloseTo(2 / 3, 12);
    // 12 s over 3 steps; 1.5 steps per replicate.
    expect(assembled.stepTimes.meanSeconds).toBeCloseTo(4, 12);
    expect(assembled.stepTimes.steps).toBeCloseTo(1.5, 12);
  });

  it('writes a row per replicate and per setting, and says when heal is not available', () => {
    const markdown = resultsMarkdown({
      epochs: 3,
      replicates: [first.result, second.result],
      averages: [averageSetting([first, second], 0)],
      healUnavailable: "plan.yaml: unknown key 'heal'",
    });
    const accuracyRows = markdown.split('\n').filter((l) => l.startsWith('| 2-way |'));
    expect(accuracyRows).toHaveLength(6);
    expect(accuracyRows[0]).toBe(
      '| 2-way | 1 | 40.00 | 50.00 | 40.00 | 50.00 | 100.00 | 98.00 | 75.00 | not available |',
    );
    expect(accuracyRows[2]).toMatch(
      /^\| 2-way \| mean of 1, 2 \| 40\.00 \| 50\.00 \|.* 75\.00 \| not available \|$/,
    );
    expect(markdown).toContain(
      "Heal: not available in this checkout (`mal plan check`: plan.yaml: unknown key 'heal').",
    );
    expect(markdown).toContain('Every model trained 3 epochs');
    expect(markdown).not.toContain('**Variants**');
  });
});
