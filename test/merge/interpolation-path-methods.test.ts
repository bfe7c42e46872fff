import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type AlignmentProblem, planAlignment, withTensors } from '../../src/align/alignment-problem.js';
import { mapTargetTensor } from '../../src/align/apply-maps.js';
import type { SpaceMaps } from '../../src/align/space-map.js';
import { DEFAULT_WEIGHT_MATCHING, weightMatching } from '../../src/align/weight-matching.js';
import { planPathMerge } from '../../src/assembly/plan-merge.js';
import { IncompatibleModelsError } from '../../src/errors.js';
import { InterpolationPath } from '../../src/eval/interpolation-path.js';
import { malInterpolate, type UnmatchedPolicy } from '../../src/merge/mal-interpolation.js';
import {
  MERGE_METHOD_NAMES,
  type MergeMethodChoice,
  mergeTensorWith,
  parseMergeMethodChoice,
} from '../../src/merge/merge-method-registry.js';
import { InvalidMergeOptionError } from '../../src/merge/merge-options-error.js';
import { computeSpaceWidths } from '../../src/spec/space-widths.js';
import type { FloatTensor } from '../../src/tensor/tensor.js';
import { makeMlp } from '../support/model-factory.js';
import { specOf } from '../support/transform-model.js';

type Tensors = Map<string, FloatTensor>;

function shapeOf(tensors: Tensors) {
  const spec = specOf(tensors, {});
  return { spec, widths: computeSpaceWidths(spec, new Map([...tensors].map(([n, t]) => [n, t.shape]))) };
}

async function align(
  base: Tensors,
  target: Tensors,
): Promise<{ problem: AlignmentProblem; maps: SpaceMaps }> {
  const problem = withTensors(planAlignment(shapeOf(base), shapeOf(target)), base, target);
  const { maps } = await weightMatching(problem, { ...DEFAULT_WEIGHT_MATCHING, init: 'best' });
  return { problem, maps };
}

/** InterpolationPath.at as it was before merge methods: MAL's interpolation, written out. */
function oldMalPath(
  base: Tensors,
  problem: AlignmentProblem,
  maps: SpaceMaps,
  unmatched: UnmatchedPolicy,
  lambda: number,
): Tensors {
  const out: Tensors = new Map();
  const mapped = new Map(
    problem.pairs.map((pair) => [
      pair.baseName,
      mapTargetTensor({ ...pair, baseShape: pair.base.shape }, maps, 'incompatible', unmatched === 'keep'),
    ]),
  );
  for (const [name, tensor] of base) {
    const m = mapped.get(name);
    out.set(
      name,
      m === undefined
        ? tensor
        : { shape: tensor.shape, data: malInterpolate(tensor.data, m.data, lambda, unmatched, m.matched) },
    );
  }
  return out;
}

function bytes(tensors: Tensors): Buffer[] {
  return [...tensors].map(([, t]) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
}

const base = makeMlp({ widths: [10, 16, 8, 4], naming: 'layers', seed: 1 }).tensors;
const sameWidth = makeMlp({ widths: [10, 16, 8, 4], naming: 'layers', seed: 2 }).tensors;
const wider = makeMlp({ widths: [10, 24, 12, 4], naming: 'layers', seed: 3 }).tensors;
const narrower = makeMlp({ widths: [10, 12, 6, 4], naming: 'layers', seed: 4 }).tensors;
/** A stand-in common ancestor of the base's architecture. */
const ancestor = makeMlp({ widths: [10, 16, 8, 4], naming: 'layers', seed: 5 }).tensors;

describe('InterpolationPath with merge methods', () => {
  it.each([
    ['wider', 'zero', wider],
    ['wider', 'keep', wider],
    ['narrower', 'zero', narrower],
    ['narrower', 'keep', narrower],
    ['same-width', 'keep', sameWidth],
  ] as const)(
    'method mal gives the old MAL interpolation bytes (%s target, unmatched %s)',
    async (_, unmatched, target) => {
      const { problem, maps } = await align(base, target);
      const legacy = new InterpolationPath(base, problem, maps, 'incompatible', unmatched);
      const byChoice = new InterpolationPath(base, problem, maps, 'incompatible', {
        choice: { method: 'mal', unmatched },
      });
      const byPlan = new InterpolationPath(
        base,
        problem,
        maps,
        'incompatible',
        planPathMerge({ unmatched }, 7),
      );
      for (const lambda of [0, 0.25, 0.5, 0.75, 1]) {
        const expected = bytes(oldMalPath(base, problem, maps, unmatched, lambda));
        expect(bytes(legacy.at(lambda))).toEqual(expected);
        expect(bytes(byChoice.at(lambda))).toEqual(expected);
        expect(bytes(byPlan.at(lambda))).toEqual(expected);
      }
    },
  );

  it('a plan without a method merges by MAL with its unmatched policy; with one, by that method', () => {
    expect(planPathMerge({ unmatched: 'keep' }, 3)).toEqual({
      choice: { method: 'mal', unmatched: 'keep' },
      seed: 3,
      ancestor: undefined,
    });
    const choice: MergeMethodChoice = { method: 'ties', density: 0.2 };
    expect(planPathMerge({ unmatched: 'zero', method: choice }, 0, ancestor).choice).toBe(choice);
  });

  it('slerp returns the base at λ = 0 and the mapped target at λ = 1', async () => {
    const { problem, maps } = await align(base, sameWidth);
    const path = new InterpolationPath(base, problem, maps, 'incompatible', { choice: { method: 'slerp' } });
    expect(bytes(path.at(0))).toEqual(bytes(base));
    const atOne = path.at(1);
    const paired = new Set(problem.pairs.map((p) => p.baseName));
    for (const pair of problem.pairs) {
      const mapped = mapTargetTensor({ ...pair, baseShape: pair.base.shape }, maps, 'incompatible');
      expect(Array.from(atOne.get(pair.baseName)!.data)).toEqual(Array.from(mapped.data));
    }
    for (const [name, t] of base) if (!paired.has(name)) expect(atOne.get(name)).toBe(t);
    // Halfway differs from the straight line (the tensors are not collinear).
    const half = path.at(0.5);
    const line = oldMalPath(base, problem, maps, 'zero', 0.5);
    expect(bytes(half)).not.toEqual(bytes(line));
  });

  it('refuses a method that needs equal widths on models of different widths', async () => {
    const { problem, maps } = await align(base, wider);
    for (const method of ['slerp', 'task-arithmetic', 'ties', 'dare-linear', 'dare-ties'] as const) {
      expect(
        () =>
          new InterpolationPath(base, problem, maps, 'incompatible', {
            choice: parseMergeMethodChoice({ method }),
            ancestor,
          }),
      ).toThrow(IncompatibleModelsError);
    }
    expect(
      () => new InterpolationPath(base, problem, maps, 'incompatible', { choice: { method: 'slerp' } }),
    ).toThrow(
      /merge method 'slerp' needs models of equal widths, but space '.*' has 16 units in the base and 24/,
    );
  });

  it('names the method that needs an ancestor when none is given, and checks the ancestor', async () => {
    const { problem, maps } = await align(base, sameWidth);
    const ties = { choice: parseMergeMethodChoice({ method: 'ties' }) };
    expect(() => new InterpolationPath(base, problem, maps, 'incompatible', ties)).toThrow(
      InvalidMergeOptionError,
    );
    expect(() => new InterpolationPath(base, problem, maps, 'incompatible', ties)).toThrow(
      "merge option 'ancestor' is required by method 'ties'",
    );
    const partial = new Map([...ancestor].slice(1));
    expect(
      () => new InterpolationPath(base, problem, maps, 'incompatible', { ...ties, ancestor: partial }),
    ).toThrow(`the ancestor has no tensor '${[...ancestor.keys()][0]}'`);
  });

  it('task arithmetic along the path: ancestor + τ_base + λ·τ_target', async () => {
    const { problem, maps } = await align(base, sameWidth);
    const path = new InterpolationPath(base, problem, maps, 'incompatible', {
      choice: { method: 'task-arithmetic' },
      ancestor,
    });
    const merged = path.at(0.4);
    for (const pair of problem.pairs) {
      const mapped = mapTargetTensor({ ...pair, baseShape: pair.base.shape }, maps, 'incompatible').data;
      const a = ancestor.get(pair.baseName)!.data;
      const b = pair.base.data;
      const out = merged.get(pair.baseName)!.data;
      for (let i = 0; i < out.length; i++) expect(out[i]).toBeCloseTo(b[i] + 0.4 * (mapped[i] - a[i]), 5);
    }
  });

  it.each(['ties', 'dare-linear', 'dare-ties'] as const)(
    '%s along the path is what `mal merge` writes for the same tensor, seed and λ',
    async (method) => {
      const { problem, maps } = await align(base, sameWidth);
      const choice = parseMergeMethodChoice({ method });
      const path = new InterpolationPath(base, problem, maps, 'incompatible', { choice, ancestor, seed: 11 });
      const merged = path.at(0.6);
      expect(bytes(path.at(0.6))).toEqual(bytes(merged));
      const names = [...base.keys()];
      for (const pair of problem.pairs) {
        const mapped = mapTargetTensor({ ...pair, baseShape: pair.base.shape }, maps, 'incompatible', true);
        const expected = mergeTensorWith(parseMergeMethodChoice({ method }), {
          tensorName: pair.baseName,
          tensorIndex: names.indexOf(pair.baseName),
          base: pair.base.data,
          mapped: mapped.data,
          matched: mapped.matched,
          ancestor: ancestor.get(pair.baseName)!.data,
          lambda: 0.6,
          seed: 11,
        });
        expect(Array.from(merged.get(pair.baseName)!.data)).toEqual(Array.from(expected));
      }
    },
  );
});

/** Dyadic rationals k/1024 with |k| ≤ 2^20: their sums and differences are exact in float32. */
const value = fc.integer({ min: -(2 ** 20), max: 2 ** 20 }).map((k) => k / 1024);

/**
 * The parameters under which λ = 0 leaves the base unchanged. TIES trims the base's own task vector (only density
 * 1 keeps it whole) and DARE drops entries of it (only p = 0 keeps it), so for them it holds only there.
 */
const identityAtZero: Record<string, readonly MergeMethodChoice[]> = {
  mal: [
    { method: 'mal', unmatched: 'zero' },
    { method: 'mal', unmatched: 'keep' },
  ],
  slerp: [{ method: 'slerp' }],
  'task-arithmetic': [{ method: 'task-arithmetic' }],
  ties: [{ method: 'ties', density: 1 }],
  'dare-linear': [{ method: 'dare-linear', dropProbability: 0 }],
  'dare-ties': [{ method: 'dare-ties', dropProbability: 0 }],
};

describe('λ = 0 leaves the base unchanged', () => {
  it('covers every registered method', () => {
    expect(Object.keys(identityAtZero).sort()).toEqual([...MERGE_METHOD_NAMES].sort());
  });

  for (const [method, choices] of Object.entries(identityAtZero)) {
    it(`${method}: for any base, target, ancestor and mask`, () => {
      const tensors = fc
        .integer({ min: 1, max: 40 })
        .chain((n) =>
          fc.tuple(
            fc.array(value, { minLength: n, maxLength: n }),
            fc.array(value, { minLength: n, maxLength: n }),
            fc.array(value, { minLength: n, maxLength: n }),
            fc.array(fc.boolean(), { minLength: n, maxLength: n }),
          ),
        );
      fc.assert(
        fc.property(
          tensors,
          fc.constantFrom(...choices),
          fc.integer({ min: 0, max: 2 ** 31 }),
          ([b, m, a, matched], choice, seed) => {
            const base = Float32Array.from(b);
            const out = mergeTensorWith(choice, {
              tensorName: 'w',
              tensorIndex: 3,
              base,
              mapped: Float32Array.from(m),
              matched: Uint8Array.from(matched, (x) => (x ? 1 : 0)),
              ancestor: Float32Array.from(a),
              lambda: 0,
              seed,
            });
            expect(Array.from(out)).toEqual(Array.from(base));
          },
        ),
        { numRuns: 200 },
      );
    });
  }

  it('and the whole path at λ = 0 is the base, for every method that allows it', async () => {
    const { problem, maps } = await align(base, sameWidth);
    for (const choices of Object.values(identityAtZero)) {
      for (const choice of choices) {
        const path = new InterpolationPath(base, problem, maps, 'incompatible', { choice, ancestor });
        const atZero = path.at(0);
        for (const [name, t] of base) {
          const out = atZero.get(name)!.data;
          for (let i = 0; i < out.length; i++) expect(out[i]).toBeCloseTo(t.data[i], 6);
        }
      }
    }
  });
});
