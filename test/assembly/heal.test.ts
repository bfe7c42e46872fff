/**
 * Heal after the assembly loop: a weak base assembled from a zoo of better MLPs of other widths, then distilled
 * from the ensemble of the base and the accepted donors. The teacher is recomputed here in float64 from the
 * member models' tensors, so the test does not trust the code's own ensemble.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AssemblyPlan } from '../../src/assembly/assembly-plan.js';
import type { ModelInMemory } from '../../src/assembly/candidate-alignment.js';
import type { Lineage } from '../../src/assembly/lineage.js';
import { decodeState } from '../../src/assembly/model-state.js';
import { evaluateOnTasks, type LoadedTask } from '../../src/assembly/objective-evaluation.js';
import { runAssembly } from '../../src/assembly/run-assembly.js';
import { initBackend } from '../../src/compute/backend.js';
import type { Dataset } from '../../src/data/dataset.js';
import { SeededRandom } from '../../src/random/seeded-random.js';
import { ContentStore, sha256 } from '../../src/store/content-store.js';
import type { FloatTensor } from '../../src/tensor/tensor.js';
import { trainModel } from '../../src/train/train-model.js';
import { modelInMemory } from '../support/model-in-memory.js';
import { mlpForward } from '../support/reference-forward.js';

const FEATURES = 16;

/** Four gaussian clusters; `centres` fixed by seed 77 so that every set shares them. */
function clusters(count: number, seed: number): Dataset {
  const centresRandom = new SeededRandom(77);
  const centres = Array.from({ length: 4 }, () => centresRandom.normalArray(FEATURES, 1.2));
  const random = new SeededRandom(seed);
  const features = new Float32Array(count * FEATURES);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const c = random.int(4);
    labels[i] = c;
    for (let k = 0; k < FEATURES; k++) features[i * FEATURES + k] = centres[c][k] + 1.3 * random.normal();
  }
  return { name: 'clusters', count, exampleShape: [FEATURES], features, labels, classes: 4 };
}

const HEAL = { steps: 300, batchSize: 64, learningRate: 1e-3, temperature: 1, teacher: 'accepted' as const };

const plan = (output: string, heal: AssemblyPlan['heal'], steps = 2): AssemblyPlan => ({
  file: 'heal-plan.yaml',
  base: 'base',
  zoo: { path: 'zoo', exclude: [] },
  objective: { tasks: [{ data: 'clusters', metric: 'loss', weight: 1, scoring: 'raw' }] },
  candidates: {
    policy: 'same-depth',
    list: [],
    topK: 3,
    preScore: 'probe',
    probeExamples: 64,
    halving: { lambdas: [0.1, 0.25, 0.5, 1], examples: 32, eta: 2, rounds: 3 },
  },
  alignment: {
    match: 'weights',
    init: 'identity',
    order: 'network',
    maxSweeps: 20,
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
  heal,
  steps,
  calibrate: 'biases',
  report: ['held-out'],
  seed: 0,
  output,
  data: {},
  backend: 'cpu',
});

let dir: string;
let base: ModelInMemory;
let zoo: { id: string; sha256: string; model: ModelInMemory }[];
let tasks: LoadedTask[];
const heldOut = clusters(400, 9);
const unlabelled = clusters(800, 11);

beforeAll(async () => {
  await initBackend('wasm');
  dir = await mkdtemp(join(tmpdir(), 'mal-heal-'));
  const train = clusters(600, 1);
  tasks = [
    {
      name: 'clusters',
      task: { data: 'clusters', metric: 'loss', weight: 1, scoring: 'raw' },
      dataset: clusters(300, 2),
    },
  ];
  const weak = await trainModel({
    architecture: 'mlp',
    hidden: [12, 12],
    dataset: {
      ...train,
      count: 40,
      features: train.features.subarray(0, 40 * FEATURES),
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

async function run(output: string, heal: AssemblyPlan['heal'], steps?: number) {
  return runAssembly({
    plan: plan(output, heal, steps),
    base: { ...base, path: 'base', sha256: 'b'.repeat(64), order: [...base.tensors.keys()] },
    zoo,
    tasks,
    report: [{ name: 'held-out', dataset: heldOut }],
    healExamples: { source: 'unlabelled', dataset: unlabelled },
    backend: 'wasm',
    store: await ContentStore.open(join(output, 'store')),
    evaluateOn: (tensors, spec, on) => evaluateOnTasks(tensors, spec, {}, on),
    evaluateMany: async (models) => Promise.all(models.map((m) => evaluateOnTasks(m, base.spec, {}, tasks))),
  });
}

function rows(data: Dataset): Float64Array[] {
  return Array.from({ length: data.count }, (_, i) =>
    Float64Array.from(data.features.subarray(i * FEATURES, (i + 1) * FEATURES)),
  );
}

function argmax(row: Float64Array): number {
  let best = 0;
  for (let c = 1; c < row.length; c++) if (row[c] > row[best]) best = c;
  return best;
}

/** Mean KL(teacher ‖ model) at T = 1, and the share of examples where both pick the same class; float64. */
function agreement(
  teacher: readonly Float64Array[],
  model: readonly Float64Array[],
): { kl: number; same: number } {
  const logSoftmax = (row: Float64Array) => {
    const max = Math.max(...row);
    const log = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
    return row.map((v) => v - log);
  };
  let kl = 0;
  let same = 0;
  teacher.forEach((t, i) => {
    const p = logSoftmax(t);
    const q = logSoftmax(model[i]);
    p.forEach((lp, c) => {
      kl += Math.exp(lp) * (lp - q[c]);
    });
    if (argmax(t) === argmax(model[i])) same++;
  });
  return { kl: kl / teacher.length, same: same / teacher.length };
}

/** The accepted donors read from the steps: every donor of a multi-donor step, else the accepted candidate's model. */
function donorsOf(lineage: Lineage): string[] {
  const ids = new Set<string>();
  for (const step of lineage.steps) {
    if (step.accepted === null) continue;
    for (const d of step.accepted.fusion?.donors ?? [{ candidate: step.accepted.candidate }])
      ids.add(d.candidate.model);
  }
  return [...ids];
}

function safetensorsMetadata(bytes: Uint8Array): Record<string, string> {
  const length = Number(Buffer.from(bytes).readBigUInt64LE(0));
  const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + length)).toString('utf8'));
  return header.__metadata__ ?? {};
}

describe('heal', () => {
  let off: Awaited<ReturnType<typeof run>>;
  let on: Awaited<ReturnType<typeof run>>;
  beforeAll(async () => {
    off = await run(join(dir, 'off'), false);
    on = await run(join(dir, 'on'), HEAL);
  });

  it('is off by default: no healed model, no heal record, no heal row', () => {
    expect(off.healedModel).toBeUndefined();
    expect(off.lineage.heal).toBeUndefined();
    expect(off.lineage.baselines?.entries.map((e) => e.name)).not.toContain('assembled-healed');
    expect(off.lineage.baselines?.gapClosedHealed).toBeUndefined();
  });

  it('changes neither the steps nor the training-free model', () => {
    expect(donorsOf(on.lineage).length).toBeGreaterThan(0);
    expect(on.lineage.steps.map((s) => s.stateAfter)).toEqual(off.lineage.steps.map((s) => s.stateAfter));
    expect(Buffer.from(on.model).equals(Buffer.from(off.model))).toBe(true);
    expect(on.lineage.final).toEqual(off.lineage.final);
  });

  it('writes a healed model that agrees with the teacher ensemble better than the training-free one, on held-out examples', () => {
    const heal = on.lineage.heal;
    if (heal?.status !== 'healed') throw new Error(`heal did not run: ${JSON.stringify(heal)}`);
    const healedBytes = on.healedModel;
    if (healedBytes === undefined) throw new Error('no healed model');
    expect(heal.teacher.members.map((m) => m.id)).toEqual(['base', ...donorsOf(on.lineage)]);
    expect(heal.teacher.members[0].sha256).toBe('b'.repeat(64));
    const inputs = rows(heldOut);
    const members = heal.teacher.members.map((m): ReadonlyMap<string, FloatTensor> => {
      if (m.id === 'base') return base.tensors;
      const z = zoo.find((entry) => entry.id === m.id);
      if (z === undefined) throw new Error(`teacher member ${m.id} is not a zoo model`);
      return z.model.tensors;
    });
    const perMember = members.map((tensors) => mlpForward(tensors, {}, inputs));
    const { biases } = heal.teacher.calibration;
    const teacher = inputs.map((_, i) =>
      Float64Array.from(
        { length: 4 },
        (_, c) => perMember.reduce((s, logits) => s + logits[i][c], 0) / perMember.length + biases[c],
      ),
    );
    const healed = decodeState(healedBytes, 'healed');
    const trainingFree = decodeState(on.model, 'model');
    const before = agreement(teacher, mlpForward(trainingFree, {}, inputs));
    const after = agreement(teacher, mlpForward(healed, {}, inputs));
    expect(after.kl).toBeLessThan(0.7 * before.kl);
    expect(after.same).toBeGreaterThan(before.same);
    // Same tensors in the same order; only their values moved.
    expect([...healed.keys()]).toEqual([...trainingFree.keys()]);
    for (const [name, t] of healed) expect(t.shape).toEqual(trainingFree.get(name)?.shape);
    const metadata = safetensorsMetadata(healedBytes);
    expect(metadata.trained_by).toBe('distillation');
    expect(metadata.heal_steps).toBe(String(HEAL.steps));
    expect(metadata.heal_data).toBe('unlabelled');
  });

  it('records heal in the lineage, apart from the training-free result', () => {
    const heal = on.lineage.heal;
    if (heal?.status !== 'healed') throw new Error('heal did not run');
    expect(heal.trainedBy).toBe('distillation');
    expect(heal.file).toBe('model-healed.safetensors');
    expect(heal.sha256).toBe(sha256(on.healedModel ?? new Uint8Array()));
    expect(heal.options).toEqual({ ...HEAL, data: 'unlabelled' });
    expect(heal.examples).toBe(unlabelled.count);
    expect(heal.loss.history[0]).toEqual({ step: 1, loss: heal.loss.first });
    expect(heal.loss.history[heal.loss.history.length - 1]).toEqual({
      step: HEAL.steps,
      loss: heal.loss.last,
    });
    expect(heal.loss.last).toBeLessThan(heal.loss.first);
    expect(heal.calibration?.kind).toBe('biases');
    // Its objective and report values, recomputed in float64 from the healed tensors.
    const healed = decodeState(on.healedModel ?? new Uint8Array(), 'healed');
    for (const [data, value] of [
      [tasks[0].dataset, heal.objective.tasks[0]],
      [heldOut, heal.report[0]],
    ] as const) {
      const logits = mlpForward(healed, {}, rows(data));
      let loss = 0;
      let correct = 0;
      logits.forEach((row, i) => {
        const max = Math.max(...row);
        loss += max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0)) - row[data.labels[i]];
        if (argmax(row) === data.labels[i]) correct++;
      });
      expect(value.loss).toBeCloseTo(loss / data.count, 4);
      expect(value.accuracy).toBeCloseTo(correct / data.count, 6);
    }
    const baselines = on.lineage.baselines;
    const row = baselines?.entries[baselines.entries.length - 1];
    expect(row?.name).toBe('assembled-healed');
    expect(row?.label).toMatch(/heal \(training\)/);
    expect(row?.report).toEqual(heal.report);
    const gap = baselines?.gapClosedHealed;
    expect(gap?.assembled).toBe('assembled-healed');
    expect(gap?.accuracies.assembled).toBe(heal.report[0].accuracy);
    expect(baselines?.gapClosed.assembled).toBe('assembled-calibrated');
  });

  it('is skipped with its reason when no step accepted a donor', async () => {
    const none = await run(join(dir, 'none'), HEAL, 0);
    expect(none.healedModel).toBeUndefined();
    expect(none.lineage.heal?.status).toBe('skipped');
    expect(none.lineage.heal?.status === 'skipped' && none.lineage.heal.reason).toMatch(
      /no step accepted a donor/,
    );
    expect(none.lineage.baselines?.entries.map((e) => e.name)).not.toContain('assembled-healed');
  });

  it('with teacher zoo, distils the whole zoo even when no step accepted a donor', async () => {
    const zooTaught = await run(join(dir, 'zoo-teacher'), { ...HEAL, steps: 50, teacher: 'zoo' }, 0);
    const heal = zooTaught.lineage.heal;
    expect(heal?.status).toBe('healed');
    expect(zooTaught.healedModel).toBeDefined();
    if (heal?.status === 'healed') {
      expect(heal.options.teacher).toBe('zoo');
      expect(heal.teacher.members.length).toBeGreaterThan(1);
    }
  });

  it('refuses heal examples, statistics or report data the base cannot read before any step', async () => {
    const other: Dataset = { ...unlabelled, exampleShape: [FEATURES / 2], count: unlabelled.count * 2 };
    const output = join(dir, 'other-shape');
    const refused = (inputs: Partial<Parameters<typeof runAssembly>[0]>) =>
      (async () =>
        runAssembly({
          plan: plan(output, HEAL, 1),
          base: { ...base, path: 'base', sha256: 'b'.repeat(64), order: [...base.tensors.keys()] },
          zoo,
          tasks,
          backend: 'wasm',
          store: await ContentStore.open(join(output, 'store')),
          evaluateOn: (tensors, spec, on) => evaluateOnTasks(tensors, spec, {}, on),
          evaluateMany: async (models) =>
            Promise.all(models.map((m) => evaluateOnTasks(m, base.spec, {}, tasks))),
          ...inputs,
        }))();
    await expect(refused({ healExamples: { source: 'half.arrow', dataset: other } })).rejects.toThrow(
      /^heal examples \(half\.arrow\): the base cannot read the examples of 'clusters' \(shape \[8\]\)/,
    );
    await expect(refused({ statistics: other })).rejects.toThrow(/^statistics\.data: the base cannot read/);
    // Objective data without class 3: the final calibration (on by default) would shift it without bound.
    const keep = Array.from({ length: tasks[0].dataset.count }, (_, i) => i).filter(
      (i) => tasks[0].dataset.labels[i] !== 3,
    );
    const withoutThree: Dataset = {
      ...tasks[0].dataset,
      count: keep.length,
      labels: Int32Array.from(keep, (i) => tasks[0].dataset.labels[i]),
      features: Float32Array.from(
        keep.flatMap((i) => Array.from(tasks[0].dataset.features.subarray(i * FEATURES, (i + 1) * FEATURES))),
      ),
    };
    await expect(refused({ tasks: [{ ...tasks[0], dataset: withoutThree }] })).rejects.toThrow(
      /^calibrate: the objective tasks' data holds no example of class 3 of the base's 4/,
    );
    await expect(refused({ report: [{ name: 'half', dataset: other }] })).rejects.toThrow(
      /^report\[0\]: the base cannot read/,
    );
  });
});
