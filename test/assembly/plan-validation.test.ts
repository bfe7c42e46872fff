import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AssemblyPlan } from '../../src/assembly/assembly-plan.js';
import { PlanError } from '../../src/assembly/plan-error.js';
import { loadPlanFile, parsePlanFile } from '../../src/assembly/plan-file.js';
import { MEMORY_WORKING_FACTOR } from '../../src/assembly/plan-memory-estimate.js';
import { validatePlan } from '../../src/assembly/validate-plan.js';
import { writeDatasetArrow } from '../../src/data/dataset-arrow-writer.js';
import { writeSafetensorsTensors } from '../../src/io/safetensors-writer.js';
import { fromFloat32 } from '../../src/tensor/float-conversion.js';
import { hashModel } from '../../src/zoo/model-hash.js';
import { addModelToZoo, openZoo } from '../../src/zoo/zoo-folder.js';
import { readZooManifest } from '../../src/zoo/zoo-manifest.js';
import { makeGpt2 } from '../support/model-factory.js';
import { writeMlpFile } from '../zoo/zoo-fixtures.js';

const ROOT = join(import.meta.dirname, '..', '..');
const DEMO_ZOO = join(ROOT, 'zoo', 'demo');
const WEAK_BASE_ID = 'base-mlp-h128x128-fmnist-weak';
const WEAK_BASE = join(DEMO_ZOO, 'models', `${WEAK_BASE_ID}.safetensors`);
const CNN_BASE = join(DEMO_ZOO, 'models', 'cnn-h8x16-d32-s1-fmnist-n12000.safetensors');

let folder: string;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'mal-plan-validation-'));
});
afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

/** A plan on the demo zoo with `lines` after the base (line 1) and zoo (line 2), written in the test folder. */
function demoPlan(lines: string, base = WEAK_BASE, zoo = `zoo: ${DEMO_ZOO}`): AssemblyPlan {
  return parsePlanFile(`base: ${base}\n${zoo}\n${lines}`, join(folder, 'plan.yaml'));
}

const VAL_TASK = 'objective:\n  tasks:\n    - {data: fashion-mnist:val, metric: loss}\n';

async function validationError(
  plan: AssemblyPlan,
  options?: Parameters<typeof validatePlan>[1],
): Promise<string> {
  try {
    await validatePlan(plan, options);
  } catch (error) {
    expect(error).toBeInstanceOf(PlanError);
    return (error as Error).message;
  }
  throw new Error('the plan validated without error');
}

describe('validatePlan on the shipped demo', () => {
  it('accepts examples/demo-plan.yaml: base, zoo models, the base skipped as a donor, data, memory', async () => {
    const plan = await loadPlanFile(join(ROOT, 'examples', 'demo-plan.yaml'));
    expect(plan.base).toBe(WEAK_BASE);
    expect(plan.zoo.path).toBe(DEMO_ZOO);
    expect(plan.output).toBe(join(ROOT, 'out', 'demo'));
    expect(plan.steps).toBe(4);
    const validation = await validatePlan(plan);
    expect(validation.base).toEqual({
      family: 'mlp',
      widths: { input: 784, 'layers.0': 128, 'layers.1': 128, output: 10 },
    });
    const { manifest } = await openZoo(DEMO_ZOO);
    expect(validation.zooModels.map((m) => m.id)).toEqual(
      manifest.models.map((m) => m.id).filter((id) => id !== WEAK_BASE_ID),
    );
    for (const model of validation.zooModels) {
      const entry = manifest.models.find((m) => m.id === model.id);
      expect(model.sha256).toBe(entry?.sha256);
      expect(model.path).toBe(join(DEMO_ZOO, entry?.path ?? ''));
      expect(model.family).toBe(entry?.readable === true ? entry.family : undefined);
    }
    expect(validation.skipped).toEqual([{ id: WEAK_BASE_ID, reason: 'is the base model' }]);
    expect(validation.datasets).toEqual([{ name: 'fashion-mnist:val', count: 2000, classes: 10 }]);

    const { memory } = validation;
    expect(memory.totalBytes).toBe(totalmem());
    // 784·128 + 128 + 128·128 + 128 + 128·10 + 10 parameters, read as float32.
    expect(memory.baseBytes).toBe(4 * (784 * 128 + 128 + 128 * 128 + 128 + 128 * 10 + 10));
    // The 256×256 MLPs are the largest donors.
    expect(memory.largestZooModelBytes).toBe(4 * (784 * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10));
    expect(memory.dataBytes).toBe(4 * 2000 * (784 + 1));
    expect(memory.estimateBytes).toBe(
      MEMORY_WORKING_FACTOR * (memory.baseBytes + memory.largestZooModelBytes + memory.dataBytes),
    );
  });

  it('loads data in the image layout for a CNN base and honours a task limit', async () => {
    const plan = demoPlan(
      'objective:\n  tasks:\n    - {data: fashion-mnist:val, metric: accuracy, limit: 300}\n',
      CNN_BASE,
    );
    const validation = await validatePlan(plan);
    expect(validation.base.family).toBe('cnn');
    expect(validation.datasets).toEqual([{ name: 'fashion-mnist:val', count: 300, classes: 10 }]);
    expect(validation.memory.dataBytes).toBe(4 * 300 * (784 + 1));
  });

  it('counts tasks on the same data once in the estimate but lists every task', async () => {
    const plan = demoPlan(
      'objective:\n  tasks:\n    - {data: fashion-mnist:val, metric: loss}\n    - {data: fashion-mnist:val, metric: accuracy}\n',
    );
    const validation = await validatePlan(plan);
    expect(validation.datasets).toHaveLength(2);
    expect(validation.memory.dataBytes).toBe(4 * 2000 * (784 + 1));
  });

  it('skips loading data with checkData: false', async () => {
    const validation = await validatePlan(demoPlan(VAL_TASK), { checkData: false });
    expect(validation.datasets).toEqual([]);
    expect(validation.memory.dataBytes).toBe(0);
  });

  it('uses only the included models, in the order the plan lists them', async () => {
    const plan = demoPlan(
      VAL_TASK,
      WEAK_BASE,
      `zoo: {path: ${DEMO_ZOO}, include: [mlp-h256x256-s2-fmnist, mlp-h64x64-s1-fmnist]}`,
    );
    const validation = await validatePlan(plan, { checkData: false });
    expect(validation.zooModels.map((m) => m.id)).toEqual(['mlp-h256x256-s2-fmnist', 'mlp-h64x64-s1-fmnist']);
    expect(validation.skipped).toEqual([]);
  });
});

describe('validatePlan refuses a plan that cannot run, naming the field and its line', () => {
  it('an excluded id that is not in the zoo', async () => {
    const plan = demoPlan(
      VAL_TASK,
      WEAK_BASE,
      `zoo:\n  path: ${DEMO_ZOO}\n  exclude:\n    - mlp-h64x64-s1-fmnist\n    - no-such-model\n`,
    );
    const message = await validationError(plan);
    expect(message).toContain(`${join(folder, 'plan.yaml')}:6: zoo.exclude[1]: `);
    expect(message).toContain(`${join(DEMO_ZOO, 'zoo.json')} has no model with id 'no-such-model'`);
  });

  it('an included id that is not in the zoo', async () => {
    const plan = demoPlan(
      VAL_TASK,
      WEAK_BASE,
      `zoo: {path: ${DEMO_ZOO}, include: [ghost, mlp-h64x64-s1-fmnist, wraith]}`,
    );
    const message = await validationError(plan);
    expect(message).toContain('plan.yaml:2: zoo.include[0]: ');
    expect(message).toContain("has no model with id 'ghost', 'wraith'");
  });

  it('a task whose data set is missing, saying where the loader looked', async () => {
    const missingDir = join(folder, 'no-such-data-dir');
    const plan = demoPlan(
      `objective:\n  tasks:\n    - {data: fashion-mnist:val, metric: loss}\n    - {data: fashion-mnist:test, metric: accuracy}\ndata: {dataDir: ${missingDir}}\n`,
    );
    const message = await validationError(plan);
    expect(message).toContain('plan.yaml:6: objective.tasks[1].data: fashion-mnist:test: ');
    expect(message).toContain(join(missingDir, 't10k-images-idx3-ubyte.gz'));
  });

  it('a base that is not a model file', async () => {
    const garbage = join(folder, 'garbage.safetensors');
    await writeFile(garbage, 'this is not a safetensors file at all');
    const message = await validationError(demoPlan(VAL_TASK, garbage));
    expect(message).toMatch(/plan\.yaml:1: base: cannot read the base model: /);
    expect(message).toContain(garbage);
  });

  it('RegMean on a CNN base, naming the field and its line', async () => {
    const message = await validationError(demoPlan(`${VAL_TASK}merge: {regmean: true}\n`, CNN_BASE));
    expect(message).toMatch(
      /plan\.yaml:6: merge\.regmean: RegMean solves dense layers of MLP models only, and .*cnn-h8x16.* is a 'cnn' model/,
    );
  });

  it('with its line for a shallow copy of a parsed plan (a field overridden on the command line)', async () => {
    const parsed = demoPlan(VAL_TASK, join(folder, 'nothing-here.safetensors'));
    const message = await validationError({ ...parsed, output: join(folder, 'elsewhere') });
    expect(message).toContain('plan.yaml:1: base: cannot read the base model: ');
  });

  it('without a line for a plan built in code', async () => {
    const parsed = demoPlan(VAL_TASK);
    const plan: AssemblyPlan = {
      ...parsed,
      objective: { tasks: [...parsed.objective.tasks] },
      base: join(folder, 'nothing-here.safetensors'),
    };
    const message = await validationError(plan);
    expect(message.startsWith(`${join(folder, 'plan.yaml')}: base: cannot read the base model: `)).toBe(true);
  });

  it('a base that does not exist', async () => {
    const message = await validationError(demoPlan(VAL_TASK, join(folder, 'nothing-here.safetensors')));
    expect(message).toContain('plan.yaml:1: base: cannot read the base model: ');
  });

  it('a language-model base given labelled data: the task field, and the text sources it reads', async () => {
    const gpt2 = makeGpt2({ vocab: 11, positions: 8, dModel: 8, nHead: 2, nLayer: 1, seed: 3 });
    const file = join(folder, 'gpt2.safetensors');
    await writeSafetensorsTensors(
      file,
      new Map([...gpt2.tensors].map(([name, t]) => [name, fromFloat32(t.data, 'F32', t.shape)])),
      { n_head: '2' },
    );
    const message = await validationError(demoPlan(VAL_TASK, file));
    expect(message).toContain('plan.yaml:5: objective.tasks[0].data: ');
    expect(message).toContain('this model reads token sequences; text sources: fortunes:');
  });

  it('a zoo folder without a manifest', async () => {
    const empty = join(folder, 'empty-zoo');
    await mkdir(empty, { recursive: true });
    const message = await validationError(demoPlan(VAL_TASK, WEAK_BASE, `zoo: ${empty}`));
    expect(message).toContain(`plan.yaml:2: zoo: ${join(empty, 'zoo.json')}: no such file`);
  });

  it('a listed candidate whose model, layer or base layer does not exist', async () => {
    const candidate = (model: string, layer: string, baseLayer: string): string =>
      `${VAL_TASK}candidates:\n  policy: list\n  list:\n    - model: ${model}\n      layers: [layers.0, ${layer}]\n      baseLayers: [layers.0, ${baseLayer}]\n`;
    expect(
      await validationError(demoPlan(candidate('mlp-h64x64-s1-fmnist', 'layers.7', 'layers.1'))),
    ).toContain(
      "plan.yaml:10: candidates.list[0].layers[1]: zoo model 'mlp-h64x64-s1-fmnist' has no layer 'layers.7' (its layers: layers.0, layers.1, layers.2)",
    );
    expect(await validationError(demoPlan(candidate('mlp-h64x64-s1-fmnist', 'layers.1', 'fc9')))).toContain(
      "plan.yaml:11: candidates.list[0].baseLayers[1]: the base has no layer 'fc9'",
    );
    expect(await validationError(demoPlan(candidate('phantom', 'layers.1', 'layers.1')))).toContain(
      'plan.yaml:9: candidates.list[0].model: ',
    );
    const excluded = demoPlan(
      candidate('mlp-h64x64-s1-fmnist', 'layers.1', 'layers.1'),
      WEAK_BASE,
      `zoo: {path: ${DEMO_ZOO}, exclude: [mlp-h64x64-s1-fmnist]}`,
    );
    expect(await validationError(excluded)).toContain(
      "candidates.list[0].model: zoo model 'mlp-h64x64-s1-fmnist' is excluded by zoo.exclude",
    );
  });

  it('accepts a listed candidate whose layers exist', async () => {
    const plan = demoPlan(
      `${VAL_TASK}candidates: [{model: mlp-h256x256-s1-fmnist, layers: [layers.0, layers.1], baseLayers: [layers.0, layers.1]}]\n`,
    );
    await expect(validatePlan(plan, { checkData: false })).resolves.toBeDefined();
  });

  it('a data set with more classes than the base has outputs, or examples the base cannot read', async () => {
    const count = 4;
    const twelveClasses = join(folder, 'twelve-classes.arrow');
    await writeDatasetArrow(twelveClasses, {
      name: 'twelve',
      count,
      exampleShape: [784],
      features: new Float32Array(count * 784),
      labels: Int32Array.from([0, 5, 11, 3]),
      classes: 12,
    });
    const tooMany = await validationError(
      demoPlan(`objective:\n  tasks:\n    - {data: ${twelveClasses}, metric: loss}\n`),
    );
    expect(tooMany).toContain('plan.yaml:5: objective.tasks[0].data: ');
    expect(tooMany).toContain('has 12 classes but the base has 10 outputs');

    const narrow = join(folder, 'narrow.arrow');
    await writeDatasetArrow(narrow, {
      name: 'narrow',
      count,
      exampleShape: [20],
      features: new Float32Array(count * 20),
      labels: Int32Array.from([0, 1, 2, 3]),
      classes: 10,
    });
    const wrongShape = await validationError(
      demoPlan(`objective:\n  tasks:\n    - {data: ${narrow}, metric: loss}\n`),
    );
    expect(wrongShape).toContain('has examples of shape [20] but the base reads 784 features');
  });

  it('an estimate over 90% of memory', async () => {
    const message = await validationError(demoPlan(VAL_TASK), { totalMemoryBytes: 1024 * 1024 });
    expect(message).toMatch(
      /plan\.yaml: the run is estimated to need .* over 90% of this machine's 1\.0 MiB/,
    );
  });
});

describe('validatePlan with unreadable zoo models', () => {
  let zooDir: string;
  beforeAll(async () => {
    zooDir = join(folder, 'mixed-zoo');
    const zoo = await openZoo(zooDir, { create: true });
    const good = await writeMlpFile(join(folder, 'good.safetensors'), [784, 32, 10], 1);
    await addModelToZoo(zoo, good, { id: 'good' });
    const broken = join(folder, 'broken.safetensors');
    await writeFile(broken, 'not a model');
    await addModelToZoo(await openZoo(zooDir), broken, { id: 'broken' });
    // Recorded as readable, then replaced on disk: validation opens every model, not just the manifest.
    const stale = await writeMlpFile(join(folder, 'stale.safetensors'), [784, 16, 10], 2);
    await addModelToZoo(await openZoo(zooDir), stale, { id: 'stale' });
    await copyFile(broken, join(zooDir, 'models', 'stale.safetensors'));
  });

  it('skips them with the reason when the plan did not name them', async () => {
    const validation = await validatePlan(demoPlan(VAL_TASK, WEAK_BASE, `zoo: ${zooDir}`), {
      checkData: false,
    });
    expect(validation.zooModels.map((m) => m.id)).toEqual(['good']);
    expect(validation.skipped.map((s) => s.id)).toEqual(['broken', 'stale']);
    for (const skipped of validation.skipped) expect(skipped.reason).not.toBe('');
  });

  it('refuses one the plan includes by id', async () => {
    const plan = demoPlan(VAL_TASK, WEAK_BASE, `zoo:\n  path: ${zooDir}\n  include: [good, stale]\n`);
    const message = await validationError(plan, { checkData: false });
    expect(message).toContain("plan.yaml:4: zoo.include[1]: zoo model 'stale' cannot be read: ");
  });

  it('refuses a selection that leaves no model', async () => {
    const plan = demoPlan(VAL_TASK, WEAK_BASE, `zoo: {path: ${zooDir}, exclude: [good]}`);
    const message = await validationError(plan, { checkData: false });
    expect(message).toContain(
      'plan.yaml:2: zoo.path: no zoo model is left to take layers from (skipped: broken: ',
    );
  });
});

describe('validatePlan hashes zoo models on use', () => {
  let zooDir: string;
  beforeAll(async () => {
    zooDir = join(folder, 'tampered-zoo');
    const zoo = await openZoo(zooDir, { create: true });
    await addModelToZoo(zoo, await writeMlpFile(join(folder, 'kept.safetensors'), [784, 32, 10], 1), {
      id: 'kept',
    });
    await addModelToZoo(
      await openZoo(zooDir),
      await writeMlpFile(join(folder, 'swapped.safetensors'), [784, 16, 10], 2),
      { id: 'swapped' },
    );
    // Other weights of the same shapes: still readable, but not the model the manifest's hash names.
    await writeMlpFile(join(zooDir, 'models', 'swapped.safetensors'), [784, 16, 10], 3);
  });

  it('leaves out a model whose bytes no longer match the manifest, with the reason and both hashes', async () => {
    const validation = await validatePlan(demoPlan(VAL_TASK, WEAK_BASE, `zoo: ${zooDir}`), {
      checkData: false,
    });
    const manifest = await readZooManifest(zooDir);
    const kept = manifest.models.find((m) => m.id === 'kept')!;
    const swapped = manifest.models.find((m) => m.id === 'swapped')!;
    const actual = (await hashModel(join(zooDir, 'models', 'swapped.safetensors'))).sha256;
    expect(validation.zooModels).toEqual([expect.objectContaining({ id: 'kept', sha256: kept.sha256 })]);
    expect(validation.skipped).toEqual([
      {
        id: 'swapped',
        reason: expect.stringContaining(`records ${swapped.sha256}, the files hash to ${actual}`),
      },
    ]);
  });

  it('refuses manifest paths that leave the zoo, and links out of it', async () => {
    const escaping = join(folder, 'escaping-zoo');
    await mkdir(join(escaping, 'models'), { recursive: true });
    await copyFile(join(zooDir, 'zoo.json'), join(escaping, 'zoo.json'));
    await copyFile(join(zooDir, 'models', 'kept.safetensors'), join(escaping, 'models', 'kept.safetensors'));
    // swapped's file is a symbolic link to a model outside the zoo.
    await symlink(join(folder, 'swapped.safetensors'), join(escaping, 'models', 'swapped.safetensors'));
    const validation = await validatePlan(demoPlan(VAL_TASK, WEAK_BASE, `zoo: ${escaping}`), {
      checkData: false,
    });
    expect(validation.zooModels.map((m) => m.id)).toEqual(['kept']);
    expect(validation.skipped[0].reason).toMatch(/leads out of the zoo folder/);
    const manifest = JSON.parse(await readFile(join(escaping, 'zoo.json'), 'utf8'));
    for (const path of ['../../../etc/passwd', '/etc/passwd']) {
      manifest.models[1].path = path;
      await writeFile(join(escaping, 'zoo.json'), JSON.stringify(manifest));
      const message = await validationError(demoPlan(VAL_TASK, WEAK_BASE, `zoo: ${escaping}`), {
        checkData: false,
      });
      expect(message).toMatch(/zoo\.json: models\[1\]\.path: (leaves the zoo folder|must be relative)/);
    }
  });
});
