import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { parseLambdaGrid } from '../../src/eval/lambda-grid.js';
import { summarizeLmc } from '../../src/eval/lmc-metrics.js';

const curve = (losses: number[]) =>
  losses.map((loss, i) => ({ lambda: i / (losses.length - 1), loss, accuracy: 0 }));

describe('summarizeLmc', () => {
  it('computes mean, barrier and λ* on a hand-worked curve', () => {
    // λ: 0, .25, .5, .75, 1; line from 1.0 to 2.0: 1, 1.25, 1.5, 1.75, 2
    const s = summarizeLmc(curve([1.0, 1.005, 2.5, 1.9, 2.0]));
    expect(s.meanLoss).toBeCloseTo((1 + 1.005 + 2.5 + 1.9 + 2) / 5, 12);
    expect(s.barrier).toBeCloseTo(1.0, 12); // 2.5 − 1.5 at λ = 0.5
    expect(s.barrierLambda).toBe(0.5);
    expect(s.epsilon).toBeCloseTo(0.01, 12);
    expect(s.threshold).toBe(0.25); // 1.005 ≤ 1.01, 2.5 is not
  });

  it('gives λ* = 1 for a flat curve, and barrier 0 when the curve never rises above the line (ends count)', () => {
    const flat = summarizeLmc(curve([0.5, 0.5, 0.5]));
    expect(flat.threshold).toBe(1);
    expect(flat.barrier).toBe(0);
    const dip = summarizeLmc(curve([1, 0.2, 1]));
    expect(dip.barrier).toBe(0);
    expect(dip.threshold).toBe(1);
  });

  it('stops λ* at the first point above L(0) + ε even if later points fall back', () => {
    expect(summarizeLmc(curve([1, 1.2, 0.9, 0.8, 0.7])).threshold).toBe(0);
  });

  it('takes ε as a fraction of L(0)', () => {
    expect(summarizeLmc(curve([1, 1.04, 3]), { epsilonFraction: 0.05 }).threshold).toBe(0.5);
  });

  it('rejects curves that do not run from 0 to 1 in order', () => {
    expect(() => summarizeLmc([{ lambda: 0, loss: 1, accuracy: 0 }])).toThrow(RangeError);
    expect(() =>
      summarizeLmc([
        { lambda: 0, loss: 1, accuracy: 0 },
        { lambda: 0.5, loss: 1, accuracy: 0 },
      ]),
    ).toThrow(/λ = 0 to λ = 1/);
  });
});

describe('parseLambdaGrid', () => {
  it('expands start:step:end exactly', () => {
    expect(parseLambdaGrid('0:0.1:1')).toEqual([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]);
    expect(parseLambdaGrid('0:0.25:1')).toEqual([0, 0.25, 0.5, 0.75, 1]);
  });

  it('reads comma lists', () => {
    expect(parseLambdaGrid('0, 0.3,1')).toEqual([0, 0.3, 1]);
  });

  it('rejects grids that miss an end, go backwards or do not land on the end', () => {
    for (const bad of ['0.1:0.1:1', '0,0.5', '0,0.6,0.5,1', '0:0.3:1', '0:0:1', 'a,b']) {
      expect(() => parseLambdaGrid(bad), bad).toThrow(UsageError);
    }
  });
});
