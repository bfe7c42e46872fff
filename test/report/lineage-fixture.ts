import type { AssemblyPlan } from '../../src/assembly/assembly-plan.js';
import type {
  CandidateRef,
  CurvePoint,
  Evaluated,
  Lineage,
  LineageStep,
  ScoredCandidate,
} from '../../src/assembly/lineage.js';

/**
 * A hand-built lineage of a small run: a 784-256-256-128-10 MLP base on Fashion-MNIST (loss, weight 1) that also
 * tries to gain on MNIST (accuracy, weight 0.5), a zoo of four models, three steps. Step 1 and 2 accept a
 * transplant; step 3 finds nothing that improves. There are pruned and failed candidates, and model ids and paths
 * with characters that must be escaped in HTML and Markdown.
 */

export const WIDE_ID = 'mlp<512>&wide';
export const SMALL_ID = 'mlp-784-128-128-10 "seed 7"';
export const DEEP_ID = "mlp-deep's";
export const CNN_ID = 'cnn<3x3>&pool';
export const BASE_PATH = '/runs/a&b/<base>/model.safetensors';

const GRID = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1];
const EPSILON = 0.01;

const sha = (seed: string): string => {
  // A stable 64-hex string per seed, shaped like a sha256 (the report only abbreviates and prints it).
  let h = 2166136261;
  let out = '';
  for (let round = 0; out.length < 64; round++) {
    for (const ch of `${seed}:${round}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
    out += h.toString(16).padStart(8, '0');
  }
  return out.slice(0, 64);
};

interface TaskShape {
  fashionLoss: (lambda: number) => number;
  fashionAccuracy: (lambda: number) => number;
  mnistLoss: (lambda: number) => number;
  mnistAccuracy: (lambda: number) => number;
}

function evaluated(lambda: number, shape: TaskShape): Evaluated {
  const tasks = [
    { name: 'fashion', loss: shape.fashionLoss(lambda), accuracy: shape.fashionAccuracy(lambda) },
    { name: 'mnist', loss: shape.mnistLoss(lambda), accuracy: shape.mnistAccuracy(lambda) },
  ];
  return { objective: tasks[0].loss - 0.5 * tasks[1].accuracy, tasks };
}

function curve(shape: TaskShape): CurvePoint[] {
  return GRID.map((lambda) => ({ lambda, ...evaluated(lambda, shape) }));
}

/** λ* as MAL §5 defines it, on the objective: the largest λ up to which every point stays within ε of λ = 0. */
function threshold(points: readonly CurvePoint[]): number {
  const limit = points[0].objective + EPSILON * Math.abs(points[0].objective);
  let best = 0;
  for (const p of points) {
    if (p.objective > limit) break;
    best = p.lambda;
  }
  return best;
}

function scored(
  candidate: CandidateRef,
  preScore: number,
  shape: TaskShape,
  rejected?: string,
): ScoredCandidate {
  const points = curve(shape);
  const lambdaStar = threshold(points);
  // lambdaChoice 'best': the grid point up to λ* with the best objective.
  const at = points
    .filter((p) => p.lambda <= lambdaStar)
    .reduce((best, p) => (p.objective < best.objective ? p : best));
  return {
    candidate,
    preScore,
    mapHashes: Object.fromEntries(
      candidate.baseLayers.map((layer) => [`${layer}.out`, sha(`${candidate.model}/${layer}`)]),
    ),
    curve: points,
    threshold: lambdaStar,
    lambda: at.lambda,
    objectiveAtLambda: at.objective,
    ...(rejected === undefined ? {} : { rejected }),
  };
}

const ref = (model: string, layers: string[], baseLayers: string[] = layers): CandidateRef => ({
  model,
  modelSha256: sha(model),
  layers,
  baseLayers,
});

// The base: fashion loss 0.52, accuracy 81.5%; MNIST (never trained on) loss 1.90, accuracy 42%.
const base: TaskShape = {
  fashionLoss: () => 0.52,
  fashionAccuracy: () => 0.815,
  mnistLoss: () => 1.9,
  mnistAccuracy: () => 0.42,
};

/** A transplant that helps MNIST a lot and costs Fashion-MNIST a little, past a point. */
const helpful = (from: TaskShape, gain: number, cost: number): TaskShape => ({
  fashionLoss: (l) => from.fashionLoss(1) - 0.05 * l + cost * l * l,
  fashionAccuracy: (l) => from.fashionAccuracy(1) + 0.01 * l - (cost / 2) * l * l,
  mnistLoss: (l) => from.mnistLoss(1) - gain * l,
  mnistAccuracy: (l) => from.mnistAccuracy(1) + (gain / 4) * l,
});

/** A transplant that only hurts: the loss barrier rises at once. */
const harmful = (from: TaskShape, rise: number): TaskShape => ({
  fashionLoss: (l) => from.fashionLoss(1) + rise * l,
  fashionAccuracy: (l) => from.fashionAccuracy(1) - (rise / 3) * l,
  mnistLoss: (l) => from.mnistLoss(1) + 0.1 * l,
  mnistAccuracy: (l) => from.mnistAccuracy(1) - 0.02 * l,
});

/** The state a shape reaches at λ, frozen, as the start of the next step. */
const settle = (shape: TaskShape, lambda: number): TaskShape => {
  const e = evaluated(lambda, shape).tasks;
  return {
    fashionLoss: () => e[0].loss,
    fashionAccuracy: () => e[0].accuracy,
    mnistLoss: () => e[1].loss,
    mnistAccuracy: () => e[1].accuracy,
  };
};

function makeLineage(): Lineage {
  const initial = evaluated(0, base);

  // Step 1: the wide model's fc2 into the base's fc2 wins; the small model's fc2 does not improve.
  const step1Accepted = scored(ref(WIDE_ID, ['fc2']), 0.412, helpful(base, 0.9, 0.25));
  const step1: LineageStep = {
    index: 0,
    stateBefore: sha('state0'),
    stateAfter: sha('state1'),
    objectiveBefore: initial.objective,
    objectiveAfter: step1Accepted.objectiveAtLambda,
    accepted: step1Accepted,
    scored: [
      step1Accepted,
      scored(ref(SMALL_ID, ['fc2']), 0.305, harmful(base, 0.3), 'no improvement on the objective'),
    ],
    pruned: [{ candidate: ref(DEEP_ID, ['fc3']), preScore: 0.041 }],
    failed: [
      {
        candidate: ref(CNN_ID, ['conv1'], ['fc1']),
        reason: 'incompatible spaces: conv1 input <1x28x28> & fc1 input <784> differ in meaning',
      },
    ],
    seconds: 41.7,
  };
  const after1 = settle(helpful(base, 0.9, 0.25), step1Accepted.lambda);

  // Step 2: two layers of the small model at once (they share a map), into fc3 and fc4.
  const step2Accepted = scored(
    ref(SMALL_ID, ['fc2', 'fc3'], ['fc3', 'fc4']),
    0.377,
    helpful(after1, 0.5, 0.3),
  );
  const step2: LineageStep = {
    index: 1,
    stateBefore: sha('state1'),
    stateAfter: sha('state2'),
    objectiveBefore: step1.objectiveAfter,
    objectiveAfter: step2Accepted.objectiveAtLambda,
    accepted: step2Accepted,
    scored: [
      scored(ref(WIDE_ID, ['fc3']), 0.351, harmful(after1, 0.8), 'λ* 0.00 is below λ_min 0.10'),
      step2Accepted,
    ],
    pruned: [
      { candidate: ref(DEEP_ID, ['fc4']), preScore: 0.032 },
      { candidate: ref(DEEP_ID, ['fc5'], ['fc4']), preScore: 0.019 },
    ],
    failed: [],
    seconds: 63.2,
  };
  const after2 = settle(helpful(after1, 0.5, 0.3), step2Accepted.lambda);
  const final = evaluated(0, after2);

  // Step 3: nothing helps any more.
  const step3: LineageStep = {
    index: 2,
    stateBefore: sha('state2'),
    stateAfter: sha('state2'),
    objectiveBefore: step2.objectiveAfter,
    objectiveAfter: step2.objectiveAfter,
    accepted: null,
    scored: [
      scored(ref(WIDE_ID, ['fc4']), 0.298, harmful(after2, 0.4), 'no improvement on the objective'),
      scored(
        ref(SMALL_ID, ['fc1']),
        0.254,
        helpful(after2, 0.8, 0.6),
        'floor broken: fashion loss +0.031 > 0.02',
      ),
    ],
    pruned: [],
    failed: [
      {
        candidate: ref(CNN_ID, ['fc'], ['fc4']),
        reason: 'bad tensors: fc.weight holds NaN',
      },
    ],
    seconds: 38.9,
  };

  return {
    version: 1,
    plan: '/runs/a&b/plan <v2>.yaml',
    options: {
      steps: 5,
      seed: 1,
      candidates: { policy: 'same-depth', topK: 2 },
      alignment: { init: 'identity', order: 'network', maxSweeps: 20, tolerance: 1e-6 },
      merge: { unmatched: 'zero', grid: GRID, epsilon: EPSILON, lambdaMin: 0.1, lambdaChoice: 'best' },
    },
    backend: 'wasm',
    base: { path: BASE_PATH, sha256: sha('base') },
    zoo: [WIDE_ID, SMALL_ID, DEEP_ID, CNN_ID].map((id) => ({ id, sha256: sha(id) })),
    skipped: [{ id: 'broken<&>', reason: "tensor 'fc.weight' holds NaN" }],
    tasks: [
      { name: 'fashion', data: 'fashion-mnist:val', metric: 'loss', weight: 1 },
      { name: 'mnist', data: 'mnist:test', metric: 'accuracy', weight: 0.5 },
    ],
    initial,
    bestZooModel: { id: WIDE_ID, ...evaluated(0, settle(helpful(base, 0.9, 0.25), 1)) },
    steps: [step1, step2, step3],
    final: { ...final, sha256: sha('state2') },
    stopReason: 'no candidate improved the objective',
  };
}

export const lineageFixture: Lineage = makeLineage();

export const planFixture: Pick<AssemblyPlan, 'file' | 'output' | 'objective'> = {
  file: '/runs/a&b/plan <v2>.yaml',
  output: '/runs/a&b/out',
  objective: {
    tasks: [
      { data: 'fashion-mnist:val', metric: 'loss', weight: 1, limit: 5000, maxDrop: 0.02, scoring: 'raw' },
      { data: 'mnist:test', metric: 'accuracy', weight: 0.5, scoring: 'raw' },
    ],
  },
};
