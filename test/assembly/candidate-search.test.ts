/**
 * Ranking candidates before the λ grid, on candidates whose objective along λ is a known function: successive
 * halving must keep a donor that only helps at a small λ (which the two-point probe prunes), record for every
 * pruned candidate the value, round, examples and λ it was ranked by, and be deterministic.
 */
import { describe, expect, it } from 'vitest';
import { type ObjectivesAt, probeRanking, successiveHalving } from '../../src/assembly/candidate-search.js';

/** Candidate 0 helps only near λ = 0.1; the others are mildly useful everywhere, never as much as it is there. */
const curves: ((lambda: number) => number)[] = [
  (lambda) => 1 - 0.3 * Math.max(0, 1 - Math.abs(lambda - 0.1) / 0.1) + (lambda > 0.2 ? 0.2 : 0),
  ...Array.from({ length: 7 }, (_, i) => (lambda: number) => 0.8 + 0.01 * i + 0.02 * (1 - lambda)),
];

function recorder(): { calls: { examples: number; lambdas: number[][] }[]; objectivesAt: ObjectivesAt } {
  const calls: { examples: number; lambdas: number[][] }[] = [];
  return {
    calls,
    objectivesAt: async (requests, examples) => {
      calls.push({ examples, lambdas: requests.map((r) => [...r.lambdas]) });
      return requests.map((r) => r.lambdas.map((lambda) => curves[r.index](lambda)));
    },
  };
}

const settings = { lambdas: [0.1, 0.25, 0.5, 1], examples: 16, eta: 2, rounds: 4 };

describe('successiveHalving', () => {
  it('keeps the donor that helps only at λ = 0.1, which the probe prunes', async () => {
    const halving = await successiveHalving(curves.length, 2, settings, recorder().objectivesAt);
    expect(halving.kept.map((k) => k.index)).toContain(0);
    expect(halving.kept[0].index).toBe(0);
    expect(halving.kept[0].ranking.lambda).toBeLessThanOrEqual(0.1);

    const probe = await probeRanking(curves.length, 2, 256, recorder().objectivesAt);
    expect(probe.kept.map((k) => k.index)).not.toContain(0);
    const dropped = probe.pruned.find((p) => p.index === 0);
    // Ranked by its probe value (minus the best of λ = 0.5 and 1), not by anything else.
    expect(dropped?.ranking).toEqual({
      by: 'probe',
      value: -Math.min(curves[0](0.5), curves[0](1)),
      examples: 256,
      lambdas: [0.5, 1],
      lambda: 0.5,
    });
  });

  it('halves the candidates each round, multiplies the examples, and refines λ around each best', async () => {
    const { calls, objectivesAt } = recorder();
    const result = await successiveHalving(curves.length, 2, settings, objectivesAt);
    // 8 → 4 → 2: two rounds.
    expect(calls.map((c) => c.examples)).toEqual([16, 32]);
    expect(calls.map((c) => c.lambdas.length)).toEqual([8, 4]);
    expect(calls[0].lambdas.every((l) => l.join() === '0.1,0.25,0.5,1')).toBe(true);
    // Candidate 0's best was 0.1: the next round tries halfway to 0 and to 0.25, and 0.1 again.
    expect(calls[1].lambdas[0]).toEqual([0.05, 0.1, 0.175]);
    // The others were best at λ = 1, the largest: halfway to 0.5, and 1 again.
    expect(calls[1].lambdas[1]).toEqual([0.75, 1]);

    expect(result.pruned.length).toBe(6);
    const byRound = new Map<number, number>();
    for (const p of result.pruned) {
      const r = p.ranking;
      expect(r.by).toBe('halving');
      byRound.set(r.round!, (byRound.get(r.round!) ?? 0) + 1);
      const lambdas = r.lambdas!;
      expect(r.value).toBe(-Math.min(...lambdas.map((l) => curves[p.index](l))));
      expect(r.examples).toBe(r.round === 1 ? 16 : 32);
      expect(lambdas).toContain(r.lambda);
    }
    expect([...byRound]).toEqual([
      [1, 4],
      [2, 2],
    ]);
  });

  it('keeps the best topK of the last round when the rounds run out, and gives the same answer every time', async () => {
    const once = await successiveHalving(
      curves.length,
      1,
      { ...settings, rounds: 1 },
      recorder().objectivesAt,
    );
    expect(once.kept.map((k) => k.index)).toEqual([0]);
    expect(once.pruned.map((p) => p.ranking.round)).toEqual(Array(7).fill(1));
    const again = await successiveHalving(
      curves.length,
      1,
      { ...settings, rounds: 1 },
      recorder().objectivesAt,
    );
    expect(again).toEqual(once);
  });

  it('runs one round and prunes nothing when there are no more candidates than topK', async () => {
    const { calls, objectivesAt } = recorder();
    const result = await successiveHalving(3, 6, settings, objectivesAt);
    expect(calls.length).toBe(1);
    expect(result.pruned).toEqual([]);
    expect(result.kept.map((k) => k.index)).toEqual([0, 1, 2]);
  });
});
