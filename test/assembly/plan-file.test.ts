import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AssemblyPlan } from '../../src/assembly/assembly-plan.js';
import { PlanError } from '../../src/assembly/plan-error.js';
import { planFieldLines } from '../../src/assembly/plan-field-lines.js';
import { loadPlanFile, parsePlanFile } from '../../src/assembly/plan-file.js';
import { MalError } from '../../src/errors.js';

/** Plans live in a folder of their own so relative paths have a known anchor. */
const FOLDER = '/plans/demo';
const FILE = `${FOLDER}/plan.yaml`;

const MINIMAL = `base: ../models/base.safetensors
zoo: ../zoo
objective:
  tasks:
    - {data: fashion-mnist:val, metric: loss}
`;

function parse(text: string, file = FILE): AssemblyPlan {
  return parsePlanFile(text, file);
}

/** The PlanError message a plan text raises; fails the test when it parses. */
function errorOf(text: string, file = FILE): string {
  try {
    parse(text, file);
  } catch (error) {
    expect(error).toBeInstanceOf(PlanError);
    expect(error).toBeInstanceOf(MalError);
    return (error as Error).message;
  }
  throw new Error('the plan parsed without error');
}

/** MINIMAL with `extra` appended: its lines start at line 6. */
function withMinimal(extra: string): string {
  return `${MINIMAL}${extra}`;
}

describe('parsePlanFile: a full plan and the defaults', () => {
  it('fills every default into a minimal plan, paths made absolute against the plan folder', () => {
    expect(parse(MINIMAL)).toEqual({
      file: FILE,
      base: '/plans/models/base.safetensors',
      zoo: { path: '/plans/zoo', exclude: [] },
      objective: { tasks: [{ data: 'fashion-mnist:val', metric: 'loss', weight: 1, scoring: 'calibrated' }] },
      candidates: {
        policy: 'same-depth',
        list: [],
        topK: 6,
        preScore: 'halving',
        probeExamples: 256,
        halving: { lambdas: [0.1, 0.25, 0.5, 1], examples: 64, eta: 2, rounds: 4 },
      },
      alignment: {
        match: 'weights',
        init: 'best',
        order: 'network',
        maxSweeps: 50,
        tolerance: 1e-9,
        kernel: 'incompatible',
      },
      merge: {
        unmatched: 'zero',
        grid: [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1],
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
      steps: 5,
      calibrate: 'biases',
      report: [],
      seed: 0,
      output: '/plans/demo/out/plan',
      data: {},
      backend: 'auto',
    } satisfies AssemblyPlan);
  });

  it('reads every field when all are given', () => {
    const text = `base: /models/base
zoo:
  path: zoo
  include: [a, b-2]
  exclude: [c.3]
objective:
  tasks:
    - {data: fashion-mnist:test, metric: loss, weight: 2, limit: 500, maxDrop: 0}
    - data: mnist:test
      metric: accuracy
      weight: 0.5
      maxDrop: 0.02
candidates:
  policy: list
  topK: 3
  preScore: probe
  halving: {lambdas: [0.05, 0.5], examples: 32, eta: 3, rounds: 2}
  list:
    - {model: a, layers: [layers.0, layers.1], baseLayers: [layers.0, layers.1]}
alignment: {init: sorted, order: random, maxSweeps: 7, tolerance: 0, kernel: centre}
merge: {unmatched: keep, grid: "0,0.25,1", epsilon: 0, lambdaMin: 1, lambdaChoice: threshold, donors: 3, donorWeights: [0.3], perLayerLambda: true}
steps: 0
calibrate: temperature-biases
report: [fashion-mnist:val, held-out.arrow]
seed: 4294967295
output: /runs/x
data: {dataDir: ../data}
backend: wasm
`;
    expect(parse(text)).toEqual({
      file: FILE,
      base: '/models/base',
      zoo: { path: '/plans/demo/zoo', include: ['a', 'b-2'], exclude: ['c.3'] },
      objective: {
        tasks: [
          {
            data: 'fashion-mnist:test',
            metric: 'loss',
            weight: 2,
            limit: 500,
            maxDrop: 0,
            scoring: 'calibrated',
          },
          { data: 'mnist:test', metric: 'accuracy', weight: 0.5, maxDrop: 0.02, scoring: 'calibrated' },
        ],
      },
      candidates: {
        policy: 'list',
        topK: 3,
        preScore: 'probe',
        probeExamples: 256,
        halving: { lambdas: [0.05, 0.5], examples: 32, eta: 3, rounds: 2 },
        list: [{ model: 'a', layers: ['layers.0', 'layers.1'], baseLayers: ['layers.0', 'layers.1'] }],
      },
      alignment: {
        match: 'weights',
        init: 'sorted',
        order: 'random',
        maxSweeps: 7,
        tolerance: 0,
        kernel: 'centre',
      },
      merge: {
        unmatched: 'keep',
        grid: [0, 0.25, 1],
        epsilon: 0,
        lambdaMin: 1,
        lambdaChoice: 'threshold',
        donors: 3,
        donorWeights: [0.3],
        perLayerLambda: true,
        repair: 'none',
        regmean: false,
      },
      statistics: { examples: 1024 },
      heal: false,
      steps: 0,
      calibrate: 'temperature-biases',
      report: ['fashion-mnist:val', '/plans/demo/held-out.arrow'],
      seed: 4294967295,
      output: '/runs/x',
      data: { dataDir: '/plans/data' },
      backend: 'wasm',
    } satisfies AssemblyPlan);
  });

  it('reads the same plan from JSON', () => {
    const json = JSON.stringify({
      base: '../models/base.safetensors',
      zoo: '../zoo',
      objective: { tasks: [{ data: 'fashion-mnist:val', metric: 'loss' }] },
    });
    const fromJson = parse(json, `${FOLDER}/plan.json`);
    const fromYaml = parse(MINIMAL);
    expect({ ...fromJson, file: FILE, output: fromYaml.output }).toEqual(fromYaml);
    expect(fromJson.output).toBe('/plans/demo/out/plan');
  });

  it('checks calibrate and the report data sources, naming the field', () => {
    expect(errorOf(withMinimal('calibrate: platt\n'))).toMatch(/^\/plans\/demo\/plan.yaml:6: calibrate: /);
    expect(errorOf(withMinimal('report: [fashion-mnist:test, fashion-mnist:test]\n'))).toMatch(
      /report\[1\]: 'fashion-mnist:test' is listed twice/,
    );
    expect(errorOf(withMinimal('report: [nowhere:x]\n'))).toMatch(/report\[0\]: /);

    // The objective's own data (fashion-mnist:val in MINIMAL), the statistics' or heal's is not held out.
    expect(errorOf(withMinimal('report: [fashion-mnist:test, fashion-mnist:val]\n'))).toMatch(
      /report\[1\]: 'fashion-mnist:val' is also objective\.tasks\[0\]\.data; report data must be held out/,
    );
    expect(errorOf(withMinimal('statistics: {data: a.arrow}\nreport: [arrow:a.arrow]\n'))).toMatch(
      /report\[0\]: .* is also statistics\.data/,
    );
    expect(errorOf(withMinimal('heal: {data: fashion-mnist:test}\nreport: [fashion-mnist:test]\n'))).toMatch(
      /report\[0\]: 'fashion-mnist:test' is also heal\.data/,
    );
    expect(errorOf(withMinimal('heal: {batchSize: 1000000000}\n'))).toMatch(/heal\.batchSize/);
  });

  it('accepts a grid as a YAML list of numbers and checks it like a string grid', () => {
    expect(parse(withMinimal('merge: {grid: [0, 0.5, 1]}\n')).merge.grid).toEqual([0, 0.5, 1]);
    expect(errorOf(withMinimal('merge:\n  grid: [0, 0.5]\n'))).toBe(
      "/plans/demo/plan.yaml:7: merge.grid: λ grid '0,0.5': must start at 0 and end at 1",
    );
  });

  it('infers policy list from a list, and reads a bare list as the list policy', () => {
    const item = '{model: m, layers: [fc1], baseLayers: [fc2]}';
    const expected = {
      policy: 'list',
      list: [{ model: 'm', layers: ['fc1'], baseLayers: ['fc2'] }],
      preScore: 'halving',
      probeExamples: 256,
      halving: { lambdas: [0.1, 0.25, 0.5, 1], examples: 64, eta: 2, rounds: 4 },
    };
    expect(parse(withMinimal(`candidates: {list: [${item}]}\n`)).candidates).toEqual({
      ...expected,
      topK: 6,
    });
    expect(parse(withMinimal(`candidates: [${item}]\n`)).candidates).toEqual({ ...expected, topK: 6 });
  });

  it('keeps the line of every field it read', () => {
    const plan = parse(withMinimal('merge:\n  epsilon: 0.5\n'));
    const lines = planFieldLines(plan);
    expect(lines?.get('base')).toBe(1);
    expect(lines?.get('objective.tasks[0]')).toBe(5);
    expect(lines?.get('objective.tasks[0].data')).toBe(5);
    expect(lines?.get('merge.epsilon')).toBe(7);
  });
});

describe('parsePlanFile: relative paths', () => {
  it('resolves base, zoo, output, data.dataDir and Arrow data against the plan folder; absolute stay', () => {
    const plan = parse(`base: m/base.safetensors
zoo: {path: ./zoo}
objective:
  tasks:
    - {data: sets/a.arrow, metric: loss}
    - {data: "arrow:sets/b.feather", metric: loss}
    - {data: /abs/c.arrow, metric: accuracy}
output: out/x
data: {dataDir: fm}
`);
    expect(plan.base).toBe('/plans/demo/m/base.safetensors');
    expect(plan.zoo.path).toBe('/plans/demo/zoo');
    expect(plan.objective.tasks.map((t) => t.data)).toEqual([
      '/plans/demo/sets/a.arrow',
      'arrow:/plans/demo/sets/b.feather',
      '/abs/c.arrow',
    ]);
    expect(plan.output).toBe('/plans/demo/out/x');
    expect(plan.data.dataDir).toBe('/plans/demo/fm');
  });

  it('anchors a relative plan file name at the working directory', () => {
    const plan = parse(MINIMAL, 'plans/p.yml');
    expect(plan.base).toBe(resolve('models/base.safetensors'));
    expect(plan.output).toBe(resolve('plans/out/p'));
    expect(plan.file).toBe('plans/p.yml');
  });
});

describe('parsePlanFile: errors name the file, the line and the field path', () => {
  const unknownKeys: [string, string, string][] = [
    ['top level', withMinimal('stepz: 3\n'), '/plans/demo/plan.yaml:6: stepz: unknown key'],
    [
      'zoo',
      MINIMAL.replace('zoo: ../zoo', 'zoo: {path: z, exclud: [a]}'),
      '/plans/demo/plan.yaml:2: zoo.exclud: unknown key',
    ],
    [
      'objective',
      withMinimal('').replace('objective:\n', 'objective:\n  weights: [1]\n'),
      '/plans/demo/plan.yaml:4: objective.weights: unknown key',
    ],
    [
      'a task',
      MINIMAL.replace('metric: loss}', 'metric: loss, floor: 1}'),
      '/plans/demo/plan.yaml:5: objective.tasks[0].floor: unknown key',
    ],
    [
      'candidates',
      withMinimal('candidates: {top: 3}\n'),
      '/plans/demo/plan.yaml:6: candidates.top: unknown key',
    ],
    [
      'a listed candidate',
      withMinimal('candidates:\n  list:\n    - model: m\n      layers: [a]\n      base: [b]\n'),
      '/plans/demo/plan.yaml:10: candidates.list[0].base: unknown key',
    ],
    [
      'alignment',
      withMinimal('alignment:\n  sweeps: 3\n'),
      '/plans/demo/plan.yaml:7: alignment.sweeps: unknown key',
    ],
    ['merge', withMinimal('merge: {lambda: 0.3}\n'), '/plans/demo/plan.yaml:6: merge.lambda: unknown key'],
    ['data', withMinimal('data: {dir: x}\n'), '/plans/demo/plan.yaml:6: data.dir: unknown key'],
  ];
  it.each(unknownKeys)('refuses an unknown key in %s', (_, text, start) => {
    expect(errorOf(text).startsWith(start)).toBe(true);
  });

  it('lists the keys it knows', () => {
    expect(errorOf(withMinimal('merge: {lambda: 0.3}\n'))).toBe(
      "/plans/demo/plan.yaml:6: merge.lambda: unknown key 'lambda' (expected one of unmatched, grid, epsilon, lambdaMin, lambdaChoice, donors, donorWeights, perLayerLambda, repair, regmean, method, ancestor)",
    );
  });

  const cases: [string, string, string][] = [
    [
      'a bad metric',
      `${MINIMAL}    - data: mnist:test\n      metric: acc\n`,
      "plan.yaml:7: objective.tasks[1].metric: must be 'loss' or 'accuracy', got 'acc'",
    ],
    [
      'a bad grid',
      withMinimal('merge:\n  grid: "0:0.3:1"\n'),
      "plan.yaml:7: merge.grid: λ grid '0:0.3:1': the step does not reach the end exactly",
    ],
    [
      'a missing base',
      MINIMAL.replace('base: ../models/base.safetensors\n', ''),
      "plan.yaml:1: (top level): missing required key 'base'",
    ],
    [
      'a missing zoo',
      MINIMAL.replace('zoo: ../zoo\n', ''),
      "plan.yaml:1: (top level): missing required key 'zoo'",
    ],
    [
      'a missing objective',
      'base: b\nzoo: z\n',
      "plan.yaml:1: (top level): missing required key 'objective'",
    ],
    [
      'an empty base',
      MINIMAL.replace('base: ../models/base.safetensors', 'base:'),
      'plan.yaml:1: base: has no value',
    ],
    [
      'policy list without a list',
      withMinimal('candidates:\n  policy: list\n'),
      "plan.yaml:7: candidates.list: policy 'list' needs a list of candidates",
    ],
    [
      'a list with another policy',
      withMinimal('candidates:\n  policy: all\n  list: [{model: m, layers: [a], baseLayers: [b]}]\n'),
      "plan.yaml:8: candidates.list: is only used with policy 'list' (the policy is 'all')",
    ],
    [
      'an empty list',
      withMinimal('candidates: {policy: list, list: []}\n'),
      'plan.yaml:6: candidates.list: must list at least one candidate',
    ],
    [
      'layers and baseLayers of different lengths',
      withMinimal('candidates:\n  - model: m\n    layers: [a, b]\n    baseLayers: [c]\n'),
      'plan.yaml:9: candidates[0].baseLayers: pairs in order with layers, so needs 2 name(s), got 1',
    ],
    [
      'a candidate without layers',
      withMinimal('candidates:\n  - {model: m, layers: [], baseLayers: []}\n'),
      'plan.yaml:7: candidates[0].layers: must list at least one name',
    ],
    [
      'a candidate without a model',
      withMinimal('candidates:\n  - {layers: [a], baseLayers: [b]}\n'),
      "plan.yaml:7: candidates[0]: missing required key 'model'",
    ],
    [
      'no tasks',
      MINIMAL.replace(/tasks:\n.*\n/, 'tasks: []\n'),
      'plan.yaml:4: objective.tasks: must list at least one task',
    ],
    [
      'an unknown metric type',
      MINIMAL.replace('metric: loss', 'metric: 3'),
      'plan.yaml:5: objective.tasks[0].metric: expected a non-empty string, got 3',
    ],
    [
      'a zero weight',
      MINIMAL.replace('loss}', 'loss, weight: 0}'),
      'plan.yaml:5: objective.tasks[0].weight: must be > 0, got 0',
    ],
    [
      'a negative weight',
      MINIMAL.replace('loss}', 'loss, weight: -1}'),
      'plan.yaml:5: objective.tasks[0].weight: must be > 0, got -1',
    ],
    [
      'an infinite weight',
      MINIMAL.replace('loss}', 'loss, weight: .inf}'),
      'plan.yaml:5: objective.tasks[0].weight: expected a finite number, got Infinity',
    ],
    [
      'a fractional limit',
      MINIMAL.replace('loss}', 'loss, limit: 2.5}'),
      'plan.yaml:5: objective.tasks[0].limit: must be an integer, got 2.5',
    ],
    [
      'a zero limit',
      MINIMAL.replace('loss}', 'loss, limit: 0}'),
      'plan.yaml:5: objective.tasks[0].limit: must be an integer ≥ 1, got 0',
    ],
    [
      'a negative maxDrop',
      MINIMAL.replace('loss}', 'loss, maxDrop: -0.1}'),
      'plan.yaml:5: objective.tasks[0].maxDrop: must be ≥ 0, got -0.1',
    ],
    [
      'an unknown data source',
      MINIMAL.replace('fashion-mnist:val', 'fmnist:val'),
      "plan.yaml:5: objective.tasks[0].data: unknown data source 'fmnist:val'",
    ],
    [
      'topK 0',
      withMinimal('candidates: {topK: 0}\n'),
      'plan.yaml:6: candidates.topK: must be an integer ≥ 1, got 0',
    ],
    [
      'an unknown policy',
      withMinimal('candidates: {policy: nearest}\n'),
      "plan.yaml:6: candidates.policy: must be one of 'same-depth', 'all', 'list', got 'nearest'",
    ],
    ['negative steps', withMinimal('steps: -1\n'), 'plan.yaml:6: steps: must be an integer ≥ 0, got -1'],
    ['fractional steps', withMinimal('steps: 1.5\n'), 'plan.yaml:6: steps: must be an integer, got 1.5'],
    [
      'steps as text',
      withMinimal('steps: five\n'),
      'plan.yaml:6: steps: expected a finite number, got "five"',
    ],
    [
      'a negative seed',
      withMinimal('seed: -3\n'),
      'plan.yaml:6: seed: must be an integer ≥ 0 and ≤ 4294967295, got -3',
    ],
    [
      'a negative epsilon',
      withMinimal('merge: {epsilon: -0.1}\n'),
      'plan.yaml:6: merge.epsilon: must be ≥ 0, got -0.1',
    ],
    [
      'lambdaMin above 1',
      withMinimal('merge: {lambdaMin: 1.5}\n'),
      'plan.yaml:6: merge.lambdaMin: must be ≥ 0 and ≤ 1, got 1.5',
    ],
    [
      'an unknown unmatched policy',
      withMinimal('merge: {unmatched: drop}\n'),
      "plan.yaml:6: merge.unmatched: must be 'zero' or 'keep', got 'drop'",
    ],
    [
      'an unknown alignment init',
      withMinimal('alignment: {init: random}\n'),
      "plan.yaml:6: alignment.init: must be one of 'identity', 'sorted', 'best', got 'random'",
    ],
    [
      'maxSweeps 0',
      withMinimal('alignment: {maxSweeps: 0}\n'),
      'plan.yaml:6: alignment.maxSweeps: must be an integer ≥ 1 and ≤ 1000000, got 0',
    ],
    ['an unknown backend', withMinimal('backend: cuda\n'), "plan.yaml:6: backend: must be one of 'auto',"],
    [
      'an id in both include and exclude',
      MINIMAL.replace('zoo: ../zoo', 'zoo: {path: z, include: [a, b], exclude: [b]}'),
      "plan.yaml:2: zoo.exclude[0]: 'b' is also in zoo.include",
    ],
    [
      'an id listed twice',
      MINIMAL.replace('zoo: ../zoo', 'zoo:\n  path: z\n  exclude:\n    - a\n    - a'),
      "plan.yaml:6: zoo.exclude[1]: 'a' is listed twice",
    ],
    [
      'an id that no zoo could hold',
      MINIMAL.replace('zoo: ../zoo', 'zoo: {path: z, include: [a/b]}'),
      "plan.yaml:2: zoo.include[0]: 'a/b' is not a zoo model id",
    ],
    [
      'a zoo mapping without a path',
      MINIMAL.replace('zoo: ../zoo', 'zoo: {exclude: [a]}'),
      "plan.yaml:2: zoo: missing required key 'path'",
    ],
    ['a repeated key', withMinimal('steps: 1\nsteps: 2\n'), 'plan.yaml:7: Map keys must be unique'],
    [
      'a document that is not a mapping',
      '- a\n- b\n',
      'plan.yaml:1: (top level): expected a mapping, got a list',
    ],
  ];
  it.each(cases)('reports %s', (_, text, expected) => {
    expect(errorOf(text)).toContain(`/plans/demo/${expected}`);
  });

  it('reports invalid JSON in a .json plan', () => {
    expect(errorOf('{"base": "b",}', 'plan.json')).toMatch(/^plan\.json: not valid JSON: /);
  });
});

describe('loadPlanFile', () => {
  let folder: string;
  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'mal-plan-file-'));
  });
  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it('reads a plan from disk and resolves its paths against its folder', async () => {
    const file = join(folder, 'assemble.yaml');
    await writeFile(file, MINIMAL);
    const plan = await loadPlanFile(file);
    expect(plan.file).toBe(file);
    expect(plan.base).toBe(resolve(folder, '../models/base.safetensors'));
    expect(plan.output).toBe(join(folder, 'out', 'assemble'));
  });

  it('says when the file cannot be read', async () => {
    const file = join(folder, 'missing.yaml');
    await expect(loadPlanFile(file)).rejects.toThrow(PlanError);
    await expect(loadPlanFile(file)).rejects.toThrow(`${file}: cannot read plan file`);
  });
});

describe('parsePlanFile: the merge method', () => {
  it('reads a method by name or with its parameters, and an ancestor against the plan folder', () => {
    expect(parse(withMinimal('merge: {method: slerp}\n')).merge.method).toEqual({ method: 'slerp' });
    const ties = parse(
      withMinimal('merge:\n  method: {method: ties, density: 0.3}\n  ancestor: ../models/init.safetensors\n'),
    );
    expect(ties.merge.method).toEqual({ method: 'ties', density: 0.3 });
    expect(ties.merge.ancestor).toBe('/plans/models/init.safetensors');
  });

  it('leaves the method out when the plan does, so earlier runs keep their step keys', () => {
    expect('method' in parse(MINIMAL).merge).toBe(false);
  });

  it('names the field and its line for a method that needs an ancestor, bad parameters and unknown methods', () => {
    expect(errorOf(withMinimal('merge: {method: ties}\n'))).toMatch(
      /plan\.yaml:6: merge\.method: .*give merge\.ancestor/,
    );
    expect(
      errorOf(withMinimal('merge:\n  method: {method: ties, density: 2}\n  ancestor: a.safetensors\n')),
    ).toMatch(/plan\.yaml:7: merge\.method\.density: .*\(0, 1\]/);
    expect(errorOf(withMinimal('merge:\n  method: {method: ties, densty: 0.3}\n  ancestor: a\n'))).toMatch(
      /plan\.yaml:7: merge\.method\.densty: is not a parameter of method 'ties'; did you mean 'density'\?/,
    );
    expect(errorOf(withMinimal('merge: {method: slerpp}\n'))).toMatch(
      /plan\.yaml:6: merge\.method.*did you mean 'slerp'/,
    );
  });
});

describe('parsePlanFile: merge fields that would be ignored are refused', () => {
  it('refuses unmatched beside a method, which would leave one of them unused', () => {
    expect(
      errorOf(withMinimal('merge: {method: {method: mal, unmatched: keep}, unmatched: zero}\n')),
    ).toMatch(/plan\.yaml:6: merge\.unmatched: is MAL's parameter: with merge\.method, give it there/);
    expect(errorOf(withMinimal('merge: {method: slerp, unmatched: keep}\n'))).toMatch(/merge\.unmatched: /);
  });

  it('refuses an ancestor for a method that reads none', () => {
    expect(errorOf(withMinimal('merge: {method: slerp, ancestor: a.safetensors}\n'))).toMatch(
      /plan\.yaml:6: merge\.ancestor: method 'slerp' reads no ancestor/,
    );
    expect(errorOf(withMinimal('merge: {ancestor: a.safetensors}\n'))).toMatch(
      /method 'mal' reads no ancestor/,
    );
  });

  it('refuses RegMean with a method other than the straight line it re-solves', () => {
    expect(errorOf(withMinimal('merge: {method: slerp, regmean: true}\n'))).toMatch(
      /plan\.yaml:6: merge\.regmean: RegMean re-solves the interpolation's dense layers, which method 'slerp' does not make/,
    );
    expect(parsePlanFile(withMinimal('merge: {regmean: true}\n'), 'plan.yaml').merge.regmean).toBe(true);
  });
});

describe('parsePlanFile: heal', () => {
  const DEFAULTS = { steps: 2000, batchSize: 128, learningRate: 1e-3, temperature: 2, teacher: 'accepted' };

  it('is off when absent or false, the defaults when true', () => {
    expect(parse(MINIMAL).heal).toBe(false);
    expect(parse(withMinimal('heal: false\n')).heal).toBe(false);
    expect(parse(withMinimal('heal: true\n')).heal).toEqual(DEFAULTS);
    expect(parse(withMinimal('heal: {}\n')).heal).toEqual(DEFAULTS);
  });

  it('reads every field, an Arrow data path against the plan folder', () => {
    expect(
      parse(
        withMinimal(
          'heal: {steps: 20, batchSize: 32, learningRate: 0.001, temperature: 2, data: unlabelled.arrow, examples: 900}\n',
        ),
      ).heal,
    ).toEqual({
      steps: 20,
      batchSize: 32,
      learningRate: 0.001,
      temperature: 2,
      data: '/plans/demo/unlabelled.arrow',
      examples: 900,
      teacher: 'accepted',
    });
  });

  it('names the field and its line for bad values and unknown keys', () => {
    expect(errorOf(withMinimal('heal:\n  steps: 0\n'))).toMatch(
      /^\/plans\/demo\/plan.yaml:7: heal.steps: must be an integer ≥ 1/,
    );
    expect(errorOf(withMinimal('heal: {learningRate: 0}\n'))).toMatch(/heal.learningRate: must be > 0/);
    expect(errorOf(withMinimal('heal: {data: nowhere:x}\n'))).toMatch(/heal.data: /);
    expect(errorOf(withMinimal('heal: {epochs: 3}\n'))).toMatch(/heal.epochs: unknown key 'epochs'/);
    expect(errorOf(withMinimal('heal: yes please\n'))).toMatch(/^\/plans\/demo\/plan.yaml:6: heal: /);
  });
});
