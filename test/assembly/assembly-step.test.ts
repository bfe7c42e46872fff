/**
 * One assembly step on tiny MLPs whose donors are permuted copies of the base plus known offsets, so alignment
 * undoes the permutation exactly and every donor's aligned tensors are known without the code under test. The
 * objective is a squared distance to a target point (float64, computed here), so the best merge is known too.
 */
import { describe, expect, it } from 'vitest';
import type { AssemblyPlan } from '../../src/assembly/assembly-plan.js';
import { assemblyStep } from '../../src/assembly/assembly-step.js';
import type { ModelInMemory } from '../../src/assembly/candidate-alignment.js';
import { type Candidate, generateCandidates } from '../../src/assembly/candidates.js';
import type { Evaluated } from '../../src/assembly/lineage.js';
import { SeededRandom } from '../../src/random/seeded-random.js';
import type { FloatTensor } from '../../src/tensor/tensor.js';
import { modelInMemory } from '../support/model-in-memory.js';

const SHAPES: [string, number[]][] = [
  ['layers.0.weight', [6, 8]],
  ['layers.0.bias', [6]],
  ['layers.1.weight', [6, 6]],
  ['layers.1.bias', [6]],
  ['layers.2.weight', [3, 6]],
  ['layers.2.bias', [3]],
];
const LAYERS = ['layers.0', 'layers.1', 'layers.2'];

function randomTensors(seed: number, scale: number): Map<string, Float64Array> {
  const random = new SeededRandom(seed);
  return new Map(
    SHAPES.map(([name, shape]) => [name, Float64Array.from(random.normalArray(size(shape), scale))]),
  );
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

const base = randomTensors(1, 1);
const offsets = [randomTensors(2, 0.05), randomTensors(3, 0.05), randomTensors(4, 0.05)];

function toModel(values: Map<string, Float64Array>): Map<string, FloatTensor> {
  return new Map(
    SHAPES.map(([name, shape]) => [name, { shape, data: Float32Array.from(values.get(name)!) }]),
  );
}

/** base + offset with the hidden units shuffled by fixed permutations: what alignment has to undo. */
function donor(offset: Map<string, Float64Array>, shift: number): ModelInMemory {
  const p = [0, 1, 2, 3, 4, 5].map((i) => (i + shift) % 6);
  const q = [5, 4, 3, 2, 1, 0].map((i) => (i + shift) % 6);
  const sum = new Map(SHAPES.map(([name]) => [name, add(base.get(name)!, offset.get(name)!, 1)]));
  const out = new Map<string, Float64Array>();
  const w0 = sum.get('layers.0.weight')!;
  const w1 = sum.get('layers.1.weight')!;
  const w2 = sum.get('layers.2.weight')!;
  out.set('layers.0.weight', rows(w0, 8, p));
  out.set('layers.0.bias', p.map((i) => sum.get('layers.0.bias')![i]) as unknown as Float64Array);
  out.set('layers.1.weight', columns(rows(w1, 6, q), 6, p));
  out.set('layers.1.bias', q.map((i) => sum.get('layers.1.bias')![i]) as unknown as Float64Array);
  out.set('layers.2.weight', columns(w2, 6, q));
  out.set('layers.2.bias', sum.get('layers.2.bias')!);
  return modelInMemory(
    new Map(SHAPES.map(([name, shape]) => [name, { shape, data: Float32Array.from(out.get(name)!) }])),
  );
}

function rows(m: Float64Array, width: number, order: number[]): Float64Array {
  const out = new Float64Array(m.length);
  order.forEach((from, to) => {
    for (let j = 0; j < width; j++) out[to * width + j] = m[from * width + j];
  });
  return out;
}

function columns(m: Float64Array, width: number, order: number[]): Float64Array {
  const out = new Float64Array(m.length);
  for (let r = 0; r < m.length / width; r++)
    order.forEach((from, to) => {
      out[r * width + to] = m[r * width + from];
    });
  return out;
}

function add(a: Float64Array, b: Float64Array, weight: number): Float64Array {
  return a.map((x, i) => x + weight * b[i]);
}

/** base + Σ weight(layer)·offset: the reference every merge is compared with. */
function combination(
  weights: { offset: number; layerWeight: (layer: string) => number }[],
): Map<string, Float64Array> {
  return new Map(
    SHAPES.map(([name]) => {
      let value = base.get(name)!;
      const layer = name.slice(0, name.lastIndexOf('.'));
      for (const w of weights) value = add(value, offsets[w.offset].get(name)!, w.layerWeight(layer));
      return [name, value];
    }),
  );
}

function distance(model: ReadonlyMap<string, FloatTensor>, target: Map<string, Float64Array>): number {
  let total = 0;
  for (const [name, t] of target) {
    const data = model.get(name)!.data;
    for (let i = 0; i < t.length; i++) total += (data[i] - t[i]) ** 2;
  }
  return total;
}

function plan(overrides: {
  candidates?: Partial<AssemblyPlan['candidates']>;
  merge?: Partial<AssemblyPlan['merge']>;
}): AssemblyPlan {
  return {
    file: 'step.yaml',
    base: 'base',
    zoo: { path: 'zoo', exclude: [] },
    objective: { tasks: [{ data: 'synthetic', metric: 'loss', weight: 1, scoring: 'raw' }] },
    candidates: {
      policy: 'same-depth',
      list: [],
      topK: 2,
      preScore: 'halving',
      probeExamples: 256,
      halving: { lambdas: [0.1, 0.25, 0.5, 1], examples: 64, eta: 2, rounds: 4 },
      ...overrides.candidates,
    },
    alignment: {
      match: 'weights',
      init: 'best',
      order: 'network',
      maxSweeps: 30,
      tolerance: 1e-9,
      kernel: 'incompatible',
    },
    merge: {
      unmatched: 'zero',
      grid: [0, 0.25, 0.5, 0.75, 1],
      epsilon: 0.01,
      lambdaMin: 0.1,
      lambdaChoice: 'best',
      donors: 1,
      donorWeights: [0.2, 0.35, 0.5],
      perLayerLambda: false,
      repair: 'none',
      regmean: false,
      ...overrides.merge,
    },
    steps: 1,
    seed: 0,
    output: 'out',
    data: {},
    backend: 'cpu',
    calibrate: 'none',
    report: [],
    statistics: { examples: 1024 },
    heal: false,
  };
}

const zoo = new Map([
  ['d1', donor(offsets[0], 1)],
  ['d2', donor(offsets[1], 2)],
  ['d3', donor(offsets[2], 3)],
]);
const baseModel = modelInMemory(toModel(base));
const whole = (model: string): Candidate => ({ model, layers: LAYERS, baseLayers: LAYERS });

async function step(p: AssemblyPlan, candidates: Candidate[], target: Map<string, Float64Array>) {
  const evaluated = (m: ReadonlyMap<string, FloatTensor>): Evaluated => ({
    objective: distance(m, target),
    tasks: [],
  });
  const initial = evaluated(baseModel.tensors);
  return assemblyStep({
    plan: p,
    base: baseModel,
    candidates,
    zooModel: async (id) => ({ ...zoo.get(id)!, sha256: id.padEnd(64, '0') }),
    tasks: [],
    initial,
    objectiveBefore: initial.objective,
    evaluate: async (models) => models.map(evaluated),
    evaluateOnFirst: async (models) => models.map(evaluated),
  });
}

function expectState(
  state: ReadonlyMap<string, FloatTensor> | undefined,
  reference: Map<string, Float64Array>,
) {
  expect(state).toBeDefined();
  for (const [name, values] of reference) {
    const data = state!.get(name)!.data;
    for (let i = 0; i < values.length; i++) expect(data[i]).toBeCloseTo(values[i], 5);
  }
}

describe('assemblyStep with several donors', () => {
  it('merges a second donor: the state is w₀·θ + w₁·T₁ + w₂·T₂ with the weights it records', async () => {
    // Best reachable with d1 then d2: base + 0.4·offset₁ + 0.3·offset₂.
    const target = combination([
      { offset: 0, layerWeight: () => 0.4 },
      { offset: 1, layerWeight: () => 0.3 },
    ]);
    const outcome = await step(plan({ merge: { donors: 2 } }), [whole('d1'), whole('d2')], target);
    const fusion = outcome.accepted?.fusion;
    expect(fusion?.donors.map((d) => d.candidate.model)).toEqual(['d1', 'd2']);
    const [w1, w2] = fusion!.donors.map((d) => d.weight);
    // The choice, reproduced on the reference: d1's best grid λ, then d2's best weight from the list.
    const at = (a: number, b: number) =>
      distance(
        toModel(
          combination([
            { offset: 0, layerWeight: () => a },
            { offset: 1, layerWeight: () => b },
          ]),
        ),
        target,
      );
    const argmin = (values: number[], f: (v: number) => number) =>
      values.reduce((best, v) => (f(v) < f(best) ? v : best));
    const lambda = argmin([0.25, 0.5, 0.75, 1], (l) => at(l, 0));
    const weight = argmin([0.2, 0.35, 0.5], (w) => at(lambda * (1 - w), w));
    expect(outcome.accepted?.lambda).toBe(lambda);
    expect(w1).toBeCloseTo(lambda * (1 - weight), 12);
    expect(w2).toBe(weight);
    const reference = combination([
      { offset: 0, layerWeight: () => w1 },
      { offset: 1, layerWeight: () => w2 },
    ]);
    expectState(outcome.state, reference);
    expect(outcome.objectiveAfter).toBe(fusion!.objective);
    expect(fusion!.objective).toBeLessThan(outcome.accepted!.objectiveAtLambda);
    expect(fusion!.objective).toBeCloseTo(distance(toModel(reference), target), 4);
  });

  it('declines a donor that does not improve the objective and keeps one donor', async () => {
    const target = combination([{ offset: 0, layerWeight: () => 0.5 }]);
    const outcome = await step(
      plan({ merge: { donors: 3 } }),
      [whole('d1'), whole('d2'), whole('d3')],
      target,
    );
    expect(outcome.accepted?.candidate.model).toBe('d1');
    expect(outcome.accepted?.fusion).toBeUndefined();
    expectState(outcome.state, combination([{ offset: 0, layerWeight: () => 0.5 }]));
  });
});

describe('assemblyStep with a λ per layer', () => {
  it('searches each layer over the grid, records the λ per layer and applies it', async () => {
    const perLayer: Record<string, number> = { 'layers.0': 0.25, 'layers.1': 0.75, 'layers.2': 0.5 };
    const target = combination([{ offset: 0, layerWeight: (layer) => perLayer[layer] }]);
    const outcome = await step(plan({ merge: { perLayerLambda: true } }), [whole('d1')], target);
    const [only] = outcome.accepted!.fusion!.donors;
    expect(only.layerWeights).toEqual(perLayer);
    // One sweep: every layer tried at the 4 other grid points.
    expect(outcome.accepted!.fusion!.evaluations).toBe(12);
    expectState(outcome.state, target);
  });
});

describe('assemblyStep ranking', () => {
  const candidates = [...zoo].flatMap(([id, m]) =>
    generateCandidates(baseModel.spec, [{ id, spec: m.spec }], plan({}).candidates),
  );
  const target = combination([{ offset: 1, layerWeight: () => 0.1 }]);

  it('records, for each pruned candidate, the halving value, round, examples and λ it was ranked by', async () => {
    const outcome = await step(plan({}), candidates, target);
    expect(outcome.pruned.length).toBe(candidates.length - 2);
    for (const p of outcome.pruned) {
      const r = p.rankedBy!;
      expect(r.by).toBe('halving');
      expect(p.preScore).toBe(r.value);
      expect(r.examples).toBe(64 * 2 ** (r.round! - 1));
      expect(r.lambdas).toContain(r.lambda);
    }
    for (const s of outcome.scored) expect(s.rankedBy?.by).toBe('halving');
  });

  it('under the probe, records minus the best objective at λ = 0.5 and 1, not the alignment cosine', async () => {
    const outcome = await step(plan({ candidates: { preScore: 'probe' } }), candidates, target);
    expect(outcome.pruned.length).toBe(candidates.length - 2);
    for (const p of outcome.pruned) {
      const offset = Number(p.candidate.model.slice(1)) - 1;
      const at = (lambda: number) =>
        distance(
          toModel(
            combination([
              { offset, layerWeight: (layer) => (p.candidate.baseLayers.includes(layer) ? lambda : 0) },
            ]),
          ),
          target,
        );
      expect(p.rankedBy?.by).toBe('probe');
      expect(p.preScore).toBeCloseTo(-Math.min(at(0.5), at(1)), 4);
    }
  });
});
