/**
 * Gap closed is measured from the best calibrated single model, and the base is a single model: when the
 * calibrated base beats every calibrated zoo model, an assembly that only re-fits the base's biases closes
 * nothing. Expected values are worked out by hand from the accuracies given.
 */
import { describe, expect, it } from 'vitest';
import { gapClosed, type MeasuredOn } from '../../src/assembly/baselines.js';
import type { Baseline, BaselineName } from '../../src/assembly/lineage.js';
import type { Dataset } from '../../src/data/dataset.js';

const emptyData: Dataset = {
  name: 'test',
  count: 0,
  exampleShape: [1],
  features: new Float32Array(0),
  labels: new Int32Array(0),
  classes: 2,
};
const onReport: MeasuredOn = { tasks: [], report: [{ name: 'test', dataset: emptyData }] };

function entry(name: BaselineName, accuracy: number): Baseline {
  return {
    name,
    label: name,
    models: [],
    objective: { objective: 0, tasks: [] },
    report: [{ name: 'test', loss: 0, accuracy }],
  };
}

describe('gapClosed', () => {
  it('starts the gap at the calibrated base when it beats the calibrated best zoo model', () => {
    const entries = [
      entry('base-calibrated', 0.854),
      entry('best-zoo-calibrated', 0.8505),
      entry('ensemble-calibrated', 0.8585),
      // The assembled model is the calibrated base: it closed nothing.
      entry('assembled-calibrated', 0.854),
    ];
    const gap = gapClosed(onReport, entries, 'assembled-calibrated');
    expect(gap.accuracies.bestSingle).toBe(0.854);
    expect(gap.value).toBeCloseTo(0, 12);
  });

  it('starts it at the calibrated best zoo model when that is the better single model', () => {
    const entries = [
      entry('base-calibrated', 0.8),
      entry('best-zoo-calibrated', 0.84),
      entry('ensemble-calibrated', 0.88),
      entry('assembled-calibrated', 0.86),
    ];
    const gap = gapClosed(onReport, entries, 'assembled-calibrated');
    expect(gap.accuracies.bestSingle).toBe(0.84);
    expect(gap.value).toBeCloseTo(0.5, 12);
  });

  it('leaves the gap empty when the calibrated ensemble does not beat the calibrated base', () => {
    const entries = [
      entry('base-calibrated', 0.86),
      entry('best-zoo-calibrated', 0.84),
      entry('ensemble-calibrated', 0.855),
      entry('assembled-calibrated', 0.87),
    ];
    expect(gapClosed(onReport, entries, 'assembled-calibrated').value).toBeNull();
  });
});
