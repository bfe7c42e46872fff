/**
 * The assembly loop on a small problem made here: a barely trained base and a zoo of better-trained MLPs of other
 * widths, all on one synthetic task. The loop must improve the base, record every step, and resume from its
 * store with the same bytes.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AssemblyPlan } from '../../src/assembly/assembly-plan.js';
import type { ModelInMemory } from '../../src/assembly/candidate-alignment.js';
import { generateCandidates } from '../../src/assembly/candidates.js';
import { evaluateOnTasks, type LoadedTask } from '../../src/assembly/objective-evaluation.js';
import { runAssembly } from '../../src/assembly/run-assembly.js';
import { transplantUnits } from '../../src/assembly/transplant-units.js';
import { initBackend } from '../../src/compute/backend.js';
import type { Dataset } from '../../src/data/dataset.js';
import { SeededRandom } from '../../src/random/seeded-random.js';
import { ContentStore, sha256 } from '../../src/store/content-store.js';
import { trainModel } from '../../src/train/train-model.js';
import { modelInMemory } from '../support/model-in-memory.js';
import { mlpForward } from '../support/reference-forward.js';

/** Four gaussian clusters in 16 dimensions. */
function clusters(count: number, seed: number): Dataset {
  const random = new SeededRandom(seed);
  const centres = Array.from({ length: 4 }, () => random.normalArray(16, 1.5));
  const features = new Float32Array(count * 16);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const c = random.int(4);
    labels[i] = c;
    for (let k = 0; k < 16; k++) features[i * 16 + k] = centres[c][k] + random.normal();
  }
  return { name: 'clusters', count, exampleShape: [16], features, labels, classes: 4 };
}

const plan = (output: string): AssemblyPlan => ({
  file: 'test-plan.yaml',
  base: 'base',
  zoo: { path: 'zoo', exclude: [] },
  objective: { tasks: [{ data: 'clusters', metric: 'loss', weight: 1, scoring: 'raw' }] },
  candidates: {
    policy: 'same-depth',
    list: [],
    topK: 4,
    preScore: 'probe',
    probeExamples: 64,
    halving: { lambdas: [0.1, 0.25, 0.5, 1], examples: 32, eta: 2, rounds: 3 },
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
  },
  statistics: { examples: 1024 },
  heal: false,
  steps: 3,
  calibrate: 'biases',
  report: [],
  seed: 0,
  output,
  data: {},
  backend: 'cpu',
});

let dir: string;
let base: ModelInMemory;
let zoo: { id: string; sha256: string; model: ModelInMemory }[];
let tasks: LoadedTask[];

beforeAll(async () => {
  await initBackend('wasm');
  dir = await mkdtemp(join(tmpdir(), 'mal-assembly-'));
  const train = clusters(600, 1);
  const validation = clusters(300, 2);
  tasks = [
    {
      name: 'clusters',
      task: { data: 'clusters', metric: 'loss', weight: 1, scoring: 'raw' },
      dataset: validation,
    },
  ];
  const weak = await trainModel({
    architecture: 'mlp',
    hidden: [12, 12],
    dataset: {
      ...train,
      count: 40,
      features: train.features.subarray(0, 40 * 16),
      labels: train.labels.subarray(0, 40),
    },
    epochs: 1,
    seed: 3,
    batchSize: 40,
  });
  base = modelInMemory(weak.tensors);
  zoo = [];
  for (const [id, hidden, seed] of [
    ['wide', [24, 20], 4],
    ['narrow', [10, 8], 5],
  ] as const) {
    const model = await trainModel({
      architecture: 'mlp',
      hidden: [...hidden],
      dataset: train,
      epochs: 4,
      seed,
      batchSize: 32,
    });
    zoo.push({ id, sha256: id.padEnd(64, '0'), model: modelInMemory(model.tensors) });
  }
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('candidates', () => {
  it('pairs units at the same relative depth and adds whole models of the same depth', () => {
    expect(transplantUnits(base.spec).map((u) => u.name)).toEqual(['layers.0', 'layers.1', 'layers.2']);
    const candidates = generateCandidates(
      base.spec,
      [{ id: 'wide', spec: zoo[0].model.spec }],
      plan(dir).candidates,
    );
    expect(candidates).toEqual([
      { model: 'wide', layers: ['layers.0'], baseLayers: ['layers.0'] },
      { model: 'wide', layers: ['layers.1'], baseLayers: ['layers.1'] },
      { model: 'wide', layers: ['layers.2'], baseLayers: ['layers.2'] },
      {
        model: 'wide',
        layers: ['layers.0', 'layers.1', 'layers.2'],
        baseLayers: ['layers.0', 'layers.1', 'layers.2'],
      },
    ]);
  });
});

describe('runAssembly', () => {
  const run = async (output: string, resumed: boolean[] = []) => {
    const store = await ContentStore.open(join(output, 'store'));
    return runAssembly({
      plan: plan(output),
      base: { ...base, path: 'base', sha256: '0'.repeat(64), order: [...base.tensors.keys()] },
      zoo,
      tasks,
      backend: 'wasm',
      store,
      evaluateOn: (tensors, spec, on) => evaluateOnTasks(tensors, spec, {}, on),
      evaluateMany: async (models) =>
        Promise.all(models.map((m) => evaluateOnTasks(m, base.spec, {}, tasks))),
      events: { stepFinished: (_step, wasResumed) => resumed.push(wasResumed) },
    });
  };

  it('improves a weak base with layers of other widths, recording every step', async () => {
    const result = await run(join(dir, 'a'));
    const { lineage } = result;
    expect(lineage.steps.length).toBeGreaterThan(0);
    const accepted = lineage.steps.filter((s) => s.accepted !== null);
    expect(accepted.length).toBeGreaterThan(0);
    expect(lineage.final.objective).toBeLessThan(lineage.initial.objective);
    for (const step of lineage.steps) {
      expect(step.objectiveAfter).toBeLessThanOrEqual(step.objectiveBefore);
      for (const s of step.scored) {
        expect(s.curve.map((p) => p.lambda)).toEqual([0, 0.25, 0.5, 0.75, 1]);
        // λ = 0 is the state itself.
        expect(s.curve[0].objective).toBeCloseTo(step.objectiveBefore, 5);
      }
      if (step.accepted !== null) {
        expect(step.accepted.threshold).toBeGreaterThanOrEqual(0.1);
        expect(Object.keys(step.accepted.mapHashes).length).toBeGreaterThan(0);
        expect(step.stateAfter).not.toBe(step.stateBefore);
      }
    }
    expect(lineage.bestZooModel?.id).toBeDefined();
  });

  it('resumes from its store: the second run recomputes nothing and gives the same bytes', async () => {
    const firstResumed: boolean[] = [];
    const secondResumed: boolean[] = [];
    const first = await run(join(dir, 'b'), firstResumed);
    const second = await run(join(dir, 'b'), secondResumed);
    expect(firstResumed.every((r) => !r)).toBe(true);
    expect(firstResumed.length).toBeGreaterThan(0);
    expect(secondResumed.length).toBe(firstResumed.length);
    expect(secondResumed.every((r) => r)).toBe(true);
    expect(Buffer.from(second.model).equals(Buffer.from(first.model))).toBe(true);
    expect(second.lineage.steps.map((s) => s.stateAfter)).toEqual(
      first.lineage.steps.map((s) => s.stateAfter),
    );
    expect(second.lineage.final.sha256).toBe(first.lineage.final.sha256);
  });

  it('a damaged step record is set aside and the step recomputed, ending with the same bytes', async () => {
    const output = join(dir, 'damaged');
    const first = await run(output);
    const steps = join(output, 'store', 'steps');
    const records = (await readdir(steps)).filter((f) => f.endsWith('.json')).sort();
    expect(records.length).toBeGreaterThan(1);
    // One record cut short (not JSON), another valid JSON of the wrong shape.
    await writeFile(join(steps, records[0]), '{"step": {"index": 0, "stateAf');
    await writeFile(join(steps, records[1]), '{"step": {"index": "zero"}}\n');
    const resumed: boolean[] = [];
    const second = await run(output, resumed);
    expect(resumed.filter((r) => !r).length).toBe(2);
    expect(Buffer.from(second.model).equals(Buffer.from(first.model))).toBe(true);
    const after = await readdir(steps);
    expect(after).toContain(`${records[0]}.corrupt`);
    expect(after).toContain(`${records[1]}.corrupt`);
    expect(after).toContain(records[0]);
  });
});

/** Mean cross-entropy and accuracy of float64 logits, computed here, not by the code under test. */
function referenceEvaluation(
  logits: readonly Float64Array[],
  labels: Int32Array,
): { loss: number; accuracy: number } {
  let loss = 0;
  let correct = 0;
  logits.forEach((row, i) => {
    const max = Math.max(...row);
    const logSum = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
    loss += logSum - row[labels[i]];
    if (row.indexOf(max) === labels[i]) correct++;
  });
  return { loss: loss / labels.length, accuracy: correct / labels.length };
}

describe('baselines and calibration at the end of a run', () => {
  it('records every baseline, consistent with the loop and with an independent ensemble', async () => {
    const output = join(dir, 'baselines');
    const heldOut = clusters(200, 9);
    const result = await runAssembly({
      plan: { ...plan(output), steps: 1, calibrate: 'temperature-biases', report: ['held-out'] },
      base: { ...base, path: 'base', sha256: '0'.repeat(64), order: [...base.tensors.keys()] },
      zoo,
      tasks,
      report: [{ name: 'held-out', dataset: heldOut }],
      backend: 'wasm',
      store: await ContentStore.open(join(output, 'store')),
      evaluateOn: (tensors, spec, on) => evaluateOnTasks(tensors, spec, {}, on),
      evaluateMany: async (models) =>
        Promise.all(models.map((m) => evaluateOnTasks(m, base.spec, {}, tasks))),
    });
    const { lineage } = result;
    const baselines = lineage.baselines;
    if (baselines === undefined) throw new Error('no baselines recorded');
    const entry = (name: string) => {
      const found = baselines.entries.find((e) => e.name === name);
      if (found === undefined) throw new Error(`no baseline '${name}'`);
      return found;
    };
    expect(baselines.entries.map((e) => e.name)).toEqual([
      'base',
      'base-calibrated',
      'best-zoo',
      'best-zoo-calibrated',
      'ensemble',
      'ensemble-calibrated',
      'assembled',
      'assembled-calibrated',
    ]);
    expect(baselines.calibration).toBe('temperature-biases');
    expect(baselines.report).toEqual(['held-out']);
    // The base baseline is the loop's initial evaluation; calibration can only lower a loss objective.
    expect(entry('base').objective.objective).toBeCloseTo(lineage.initial.objective, 4);
    for (const name of ['base', 'best-zoo', 'ensemble', 'assembled'])
      expect(entry(`${name}-calibrated`).objective.objective).toBeLessThanOrEqual(
        entry(name).objective.objective + 1e-9,
      );
    // The written model is the calibrated assembled one; the training-free result is kept beside it.
    expect(lineage.calibration?.kind).toBe('temperature-biases');
    expect(lineage.calibration?.uncalibrated.objective).toBeCloseTo(
      entry('assembled').objective.objective,
      4,
    );
    expect(lineage.calibration?.uncalibrated.sha256).toBe(lineage.steps[lineage.steps.length - 1].stateAfter);
    expect(lineage.final.objective).toBeCloseTo(entry('assembled-calibrated').objective.objective, 4);
    expect(lineage.final.objective).toBeLessThanOrEqual(
      lineage.calibration?.uncalibrated.objective ?? Number.NaN,
    );
    expect(lineage.final.sha256).toBe(sha256(result.model));
    // The ensemble is the mean of the base's and every zoo model's logits, here in float64 from the tensors.
    expect(entry('ensemble').models).toEqual(['base', 'wide', 'narrow']);
    for (const [data, measured] of [
      [tasks[0].dataset, entry('ensemble').objective.tasks[0]],
      [heldOut, entry('ensemble').report[0]],
    ] as const) {
      const inputs = Array.from({ length: data.count }, (_, i) =>
        Float64Array.from(data.features.subarray(i * 16, (i + 1) * 16)),
      );
      const perModel = [base, ...zoo.map((z) => z.model)].map((m) => mlpForward(m.tensors, {}, inputs));
      const mean = inputs.map((_, i) =>
        Float64Array.from(
          perModel[0][i],
          (_, c) => perModel.reduce((s, l) => s + l[i][c], 0) / perModel.length,
        ),
      );
      const reference = referenceEvaluation(mean, data.labels);
      expect(measured.loss).toBeCloseTo(reference.loss, 4);
      expect(measured.accuracy).toBeCloseTo(reference.accuracy, 6);
    }
    // The best single zoo model, raw, is the one with the lower objective, whichever family.
    const zooObjectives = zoo.map(
      (z) =>
        referenceEvaluation(
          mlpForward(
            z.model.tensors,
            {},
            Array.from({ length: tasks[0].dataset.count }, (_, i) =>
              Float64Array.from(tasks[0].dataset.features.subarray(i * 16, (i + 1) * 16)),
            ),
          ),
          tasks[0].dataset.labels,
        ).loss,
    );
    expect(entry('best-zoo').models).toEqual([zoo[zooObjectives[0] < zooObjectives[1] ? 0 : 1].id]);
    expect(lineage.bestZooModel?.id).toBe(entry('best-zoo').models[0]);
    const gap = baselines.gapClosed;
    expect(gap.on).toBe('report');
    expect(gap.assembled).toBe('assembled-calibrated');
    expect(gap.accuracies.assembled).toBe(entry('assembled-calibrated').report[0].accuracy);
    const { assembled, bestSingle, ensemble } = gap.accuracies;
    if (assembled !== null && bestSingle !== null && ensemble !== null && ensemble > bestSingle)
      expect(gap.value).toBeCloseTo((assembled - bestSingle) / (ensemble - bestSingle), 12);
    else expect(gap.value).toBeNull();
  });
});

describe('runAssembly with another merge method from the plan', () => {
  let twin: { id: string; sha256: string; model: ModelInMemory };
  beforeAll(async () => {
    const model = await trainModel({
      architecture: 'mlp',
      hidden: [12, 12],
      dataset: clusters(600, 1),
      epochs: 4,
      seed: 6,
      batchSize: 32,
    });
    twin = { id: 'twin', sha256: 'twin'.padEnd(64, '0'), model: modelInMemory(model.tensors) };
  });

  /** One step of the plan with these merge fields (and any other plan fields) on the zoo and the twin. */
  const run = async (
    output: string,
    merge: Partial<AssemblyPlan['merge']>,
    ancestor?: ModelInMemory,
    fields: Partial<AssemblyPlan> = {},
  ) =>
    runAssembly({
      plan: { ...plan(output), ...fields, steps: 1, merge: { ...plan(output).merge, ...merge } },
      base: { ...base, path: 'base', sha256: '0'.repeat(64), order: [...base.tensors.keys()] },
      zoo: [...zoo, twin],
      tasks,
      backend: 'wasm',
      store: await ContentStore.open(join(output, 'store')),
      ...(ancestor === undefined ? {} : { ancestor: { sha256: '1'.repeat(64), tensors: ancestor.tensors } }),
      evaluateOn: (tensors, spec, on) => evaluateOnTasks(tensors, spec, {}, on),
      evaluateMany: async (models) =>
        Promise.all(models.map((m) => evaluateOnTasks(m, base.spec, {}, tasks))),
    });

  it('merges with slerp; candidates of other widths are dropped once before the first step, not merged', async () => {
    const { lineage } = await run(join(dir, 'slerp'), { method: { method: 'slerp' } });
    const [step] = lineage.steps;
    const unalignable = lineage.unalignable ?? [];
    expect(new Set(unalignable.map((f) => f.candidate.model))).toEqual(new Set(['wide', 'narrow']));
    for (const f of unalignable)
      expect(f.reason).toMatch(/merge method 'slerp' needs models of equal widths/);
    // Recorded once in the lineage, never again in a step.
    expect(step.failed).toEqual([]);
    expect(step.scored.length).toBeGreaterThan(0);
    for (const s of step.scored) {
      expect(s.candidate.model).toBe('twin');
      expect(s.curve[0].objective).toBeCloseTo(step.objectiveBefore, 5);
    }
  });

  it('task arithmetic against the base as ancestor walks the same curve as MAL interpolation', async () => {
    // θ + λ·(T(θ_twin) − θ) is (1−λ)·θ + λ·T(θ_twin): equal widths leave no entry unmatched.
    const viaTaskVector = await run(join(dir, 'ta'), { method: { method: 'task-arithmetic' } }, base);
    const viaMal = await run(join(dir, 'mal'), {});
    const twinCurves = (l: typeof viaMal.lineage) =>
      l.steps[0].scored
        .filter((s) => s.candidate.model === 'twin')
        .map((s) => [s.candidate.layers.join('+'), s.curve.map((p) => p.objective)] as const);
    const expected = new Map(twinCurves(viaMal.lineage));
    const actual = twinCurves(viaTaskVector.lineage);
    expect(actual.length).toBeGreaterThan(0);
    for (const [layers, curve] of actual) {
      const reference = expected.get(layers);
      if (reference === undefined) continue;
      curve.forEach((value, i) => {
        expect(value).toBeCloseTo(reference[i], 5);
      });
    }
    expect(actual.some(([layers]) => expected.has(layers))).toBe(true);
  });

  it('merges by RegMean when the plan asks: one-layer candidates walk the straight line, whole models do not', async () => {
    const plainRun = await run(join(dir, 'plain-for-regmean'), {});
    const { lineage } = await run(join(dir, 'regmean'), { regmean: true }, undefined, {
      statistics: { examples: 200 },
    });
    const plainCurves = new Map(
      plainRun.lineage.steps[0].scored.map((s) => [JSON.stringify(s.candidate), s.curve] as const),
    );
    let compared = 0;
    let wholeDiffers = false;
    for (const s of lineage.steps[0].scored) {
      const reference = plainCurves.get(JSON.stringify(s.candidate));
      if (reference === undefined) continue;
      compared++;
      // λ = 0 is the state and λ = 1 the aligned candidate, whatever the merge.
      expect(s.curve[0].objective).toBeCloseTo(reference[0].objective, 5);
      expect(s.curve.at(-1)!.objective).toBeCloseTo(reference.at(-1)!.objective, 5);
      if (s.candidate.baseLayers.length === 1) {
        // A lone layer's inputs are the state's at both ends, so RegMean is the interpolation.
        s.curve.forEach((p, i) => {
          expect(p.objective).toBeCloseTo(reference[i].objective, 4);
        });
      } else if (s.curve.some((p, i) => Math.abs(p.objective - reference[i].objective) > 1e-4))
        wholeDiffers = true;
    }
    expect(compared).toBeGreaterThan(0);
    expect(wholeDiffers).toBe(true);
  });

  it('aligns by activations and REPAIRs every λ > 0 when the plan asks, λ = 0 staying the state', async () => {
    const output = join(dir, 'activations');
    const byWeights = await run(join(dir, 'weights-for-activations'), {});
    const { lineage } = await run(output, { repair: 'repair' }, undefined, {
      alignment: { ...plan(output).alignment, match: 'activations' },
      statistics: { examples: 200 },
    });
    const [step] = lineage.steps;
    expect(step.scored.length).toBeGreaterThan(0);
    for (const s of step.scored) expect(s.curve[0].objective).toBeCloseTo(step.objectiveBefore, 5);
    // Other maps and repaired curves: the scored curves differ from weight matching's.
    const curves = (l: typeof lineage) =>
      new Map(l.steps[0].scored.map((s) => [JSON.stringify(s.candidate), s.curve]));
    const reference = curves(byWeights.lineage);
    const differs = step.scored.some((s) => {
      const other = reference.get(JSON.stringify(s.candidate));
      return other !== undefined && Math.abs(other[2].objective - s.curve[2].objective) > 1e-6;
    });
    expect(differs).toBe(true);
  });
});
