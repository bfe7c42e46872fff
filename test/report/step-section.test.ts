/**
 * The step section with what MAL §7 adds to a step (several donors with their weights, a λ per layer, what each
 * pruned candidate was ranked by), and a step from a lineage written before those fields existed.
 */
import { describe, expect, it } from 'vitest';
import type { LineageStep } from '../../src/assembly/lineage.js';
import { renderStepSectionHtml } from '../../src/report/step-section.js';
import { lineageFixture } from './lineage-fixture.js';

const old = lineageFixture.steps.find((s) => s.accepted !== null && s.pruned.length > 0)!;
const accepted = old.accepted!;
const other = { ...accepted.candidate, model: 'second<donor>' };

const fused: LineageStep = {
  ...old,
  accepted: {
    ...accepted,
    fusion: {
      donors: [
        {
          candidate: accepted.candidate,
          weight: 0.325,
          layerWeights: { fc1: 0.25, fc2: 0.4 },
          mapHashes: accepted.mapHashes,
        },
        { candidate: other, weight: 0.35, mapHashes: {} },
      ],
      objective: 0.4321,
      tasks: [],
      evaluations: 9,
      declined: [{ candidate: { ...other, model: 'third' }, objective: 0.51 }],
    },
  },
  pruned: old.pruned.map((p, i) => ({
    ...p,
    preScore: -0.61,
    rankedBy: {
      by: 'halving' as const,
      value: -0.61,
      round: 2,
      examples: 128,
      lambdas: [0.05, 0.1, 0.175],
      lambda: i === 0 ? 0.1 : 0.05,
    },
  })),
};

describe('renderStepSectionHtml', () => {
  it('lists every donor with its weight and weights per layer, and the donors declined', () => {
    const html = renderStepSectionHtml(fused, 1);
    expect(html).toContain('Merged 2 donors into the same layers');
    expect(html).toContain('second&lt;donor&gt;');
    expect(html).toContain('>0.3250<');
    expect(html).toContain('>0.3500<');
    expect(html).toContain('<code>fc1</code> 0.25, <code>fc2</code> 0.40');
    expect(html).toContain('Tried and not kept: <code>third</code>');
    expect(html).toContain('0.4321');
  });

  it('says what each pruned candidate was ranked by', () => {
    const html = renderStepSectionHtml(fused, 1);
    expect(html).toContain(
      'dropped in halving round 2: best objective 0.6100 at λ = 0.1 of 0.05, 0.1, 0.175 on 128 examples per task',
    );
  });

  it('renders a step of an older lineage, without donors or rankings', () => {
    const html = renderStepSectionHtml(old, 1);
    expect(html).not.toContain('donor');
    expect(html).toContain('Pruned before the λ grid');
    expect(html).toMatch(/pre-score -?\d/);
    expect(html).not.toMatch(/undefined|NaN/);
  });
});
