/**
 * The cost of one assembly step on a 16-model zoo (MLP widths 64, 128, 256, 512, four seeds each, trained briefly
 * on a synthetic 784-feature, 10-class task; base 784-128-128-10 barely trained; objective 2 000 examples):
 * wall time of a step ranked by the two-point probe (what steps did before) against the same step ranked by
 * successive halving, scored raw and calibrated (the default), with several donors and a λ per layer on top, and
 * merged by RegMean (Gram matrices on the first 1 024 objective examples), as ratios measured in one run.
 * Target: halving at most 1.5× the probe.
 *
 *   npx tsx bench/assembly-step.ts [--examples 2000] [--repeats 1]
 */
import { pathToFileURL } from 'node:url';
import type { AssemblyPlan } from '../src/assembly/assembly-plan.js';
import { assemblyStep } from '../src/assembly/assembly-step.js';
import type { ModelInMemory } from '../src/assembly/candidate-alignment.js';
import { checkCandidateCompatibility } from '../src/assembly/candidate-compatibility.js';
import { generateCandidates } from '../src/assembly/candidates.js';
import { evaluateOnTasks, type LoadedTask } from '../src/assembly/objective-evaluation.js';
import { parsePlanFile } from '../src/assembly/plan-file.js';
import { describeBackend, initBackend } from '../src/compute/backend.js';
import type { Dataset } from '../src/data/dataset.js';
import { SeededRandom } from '../src/random/seeded-random.js';
import type { FloatTensor } from '../src/tensor/tensor.js';
import { trainModel } from '../src/train/train-model.js';
import { modelInMemory } from '../test/support/model-in-memory.js';

/** Ten gaussian clusters in 784 dimensions, one centre per class. */
function clusters(count: number, seed: number): Dataset {
  const random = new SeededRandom(seed);
  const centres = Array.from({ length: 10 }, (_, c) => new SeededRandom(100 + c).normalArray(784, 0.15));
  const features = new Float32Array(count * 784);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const c = random.int(10);
    labels[i] = c;
    for (let k = 0; k < 784; k++) features[i * 784 + k] = centres[c][k] + random.normal();
  }
  return { name: 'clusters', count, exampleShape: [784], features, labels, classes: 10 };
}

function slice(d: Dataset, from: number, count: number): Dataset {
  return {
    ...d,
    count,
    features: d.features.subarray(from * 784, (from + count) * 784),
    labels: d.labels.subarray(from, from + count),
  };
}

export async function main(args: string[] = process.argv.slice(2)): Promise<void> {
  const flag = (name: string, fallback: number) => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : fallback;
  };
  const examples = flag('--examples', 2000);
  const repeats = flag('--repeats', 1);
  console.log(describeBackend(await initBackend('wasm')));
  const train = clusters(16 * 500, 1);
  const objective = clusters(examples, 2);
  const base = modelInMemory(
    (
      await trainModel({
        architecture: 'mlp',
        hidden: [128, 128],
        dataset: slice(train, 0, 200),
        epochs: 1,
        seed: 3,
      })
    ).tensors,
  );
  const zoo = new Map<string, ModelInMemory>();
  let seed = 10;
  for (const width of [64, 128, 256, 512]) {
    for (let s = 0; s < 4; s++) {
      const model = await trainModel({
        architecture: 'mlp',
        hidden: [width, width],
        dataset: slice(train, zoo.size * 500, 500),
        epochs: 2,
        seed: seed++,
      });
      zoo.set(`w${width}-s${s}`, modelInMemory(model.tensors));
    }
  }
  const tasksScored = (scoring: 'raw' | 'calibrated'): LoadedTask[] => [
    { name: 'clusters', task: { data: 'clusters', metric: 'loss', weight: 1, scoring }, dataset: objective },
  ];
  const rawTasks = tasksScored('raw');
  const evaluate = (models: readonly Map<string, FloatTensor>[], on: readonly LoadedTask[]) =>
    Promise.all(models.map((m) => evaluateOnTasks(m, base.spec, {}, on)));

  const basePlan = parsePlanFile(
    'base: b\nzoo: z\nobjective: {tasks: [{data: fashion-mnist:val, metric: loss}]}\n',
    'bench.yaml',
  );
  const generated = generateCandidates(
    base.spec,
    [...zoo].map(([id, m]) => ({ id, spec: m.spec })),
    basePlan.candidates,
  );
  const { alignable } = checkCandidateCompatibility(base, (id) => zoo.get(id)!, generated, 'mal');
  console.log(`${zoo.size} zoo models, ${alignable.length} candidates, objective on ${examples} examples`);

  const statistics = slice(objective, 0, Math.min(1024, objective.count));
  const stepSeconds = async (
    plan: AssemblyPlan,
    tasks: LoadedTask[],
  ): Promise<{ seconds: number; objective: number; initial: number }> => {
    const started = performance.now();
    const initial = await evaluateOnTasks(base.tensors, base.spec, {}, tasks);
    const outcome = await assemblyStep({
      plan,
      base,
      candidates: alignable,
      zooModel: async (id) => ({ ...zoo.get(id)!, sha256: id.padEnd(64, '0') }),
      tasks,
      initial,
      objectiveBefore: initial.objective,
      ...(plan.merge.regmean ? { statistics } : {}),
      evaluate: (models) => evaluate(models, tasks),
      evaluateOnFirst: (models, count) =>
        evaluate(
          models,
          tasks.map((t) => ({ ...t, dataset: slice(t.dataset, 0, Math.min(count, t.dataset.count)) })),
        ),
    });
    return {
      seconds: (performance.now() - started) / 1000,
      objective: outcome.objectiveAfter,
      initial: initial.objective,
    };
  };
  const variants: [string, AssemblyPlan, LoadedTask[]][] = [
    [
      'probe, scored raw (before)',
      { ...basePlan, candidates: { ...basePlan.candidates, preScore: 'probe' } },
      rawTasks,
    ],
    ['halving, scored raw', basePlan, rawTasks],
    ['halving, scored calibrated (default)', basePlan, tasksScored('calibrated')],
    [
      'halving + 3 donors + λ per layer, scored raw',
      { ...basePlan, merge: { ...basePlan.merge, donors: 3, perLayerLambda: true } },
      rawTasks,
    ],
    [
      'halving + RegMean, scored calibrated',
      { ...basePlan, merge: { ...basePlan.merge, regmean: true } },
      tasksScored('calibrated'),
    ],
  ];
  const times = new Map<string, number[]>();
  for (let r = 0; r < repeats; r++) {
    for (const [label, plan, tasks] of variants) {
      const { seconds, objective: after, initial } = await stepSeconds(plan, tasks);
      times.set(label, [...(times.get(label) ?? []), seconds]);
      console.log(
        `  ${label}: ${seconds.toFixed(2)} s, objective ${initial.toFixed(4)} → ${after.toFixed(4)}`,
      );
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const reference = median(times.get('probe, scored raw (before)')!);
  for (const [label] of variants) {
    console.log(`${label}: ${(median(times.get(label)!) / reference).toFixed(2)}× the probe's step`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
