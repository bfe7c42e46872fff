import { totalmem } from 'node:os';
import { resolve } from 'node:path';
import type { Dataset, ExampleLayout } from '../data/dataset.js';
import { loadDataset } from '../data/load-dataset.js';
import { MalError } from '../errors.js';
import { FORWARD_FAMILIES } from '../eval/forward.js';
import { exampleLayoutFor, loadDatasetForModel } from '../eval/model-evaluation.js';
import { REGMEAN_FAMILIES } from '../eval/regmean.js';
import { isTransformerFamily, TRANSFORMER_FAMILIES } from '../eval/transformer-settings.js';
import { checkAncestorFits } from '../merge/ancestor.js';
import { type LoadedModel, loadModel } from '../model/load-model.js';
import type { ArchitectureFamily, ArchitectureSpec } from '../spec/architecture-spec.js';
import { hashModel } from '../zoo/model-hash.js';
import { openZoo, type Zoo, zooModelPath } from '../zoo/zoo-folder.js';
import { type ZooEntry, zooManifestPath } from '../zoo/zoo-manifest.js';
import { resolveZooModel } from '../zoo/zoo-paths.js';
import type { AssemblyPlan, ListedCandidate } from './assembly-plan.js';
import { PlanError } from './plan-error.js';
import { planFieldError, planFieldLines } from './plan-field-lines.js';
import {
  estimatePlanMemory,
  float32BytesOf,
  MEMORY_LIMIT_FRACTION,
  type PlanMemoryEstimate,
} from './plan-memory-estimate.js';

export interface PlanValidationOptions {
  /** Load every task's data set (default true); without it `datasets` is empty and the estimate holds no data. */
  readonly checkData?: boolean;
  /** The machine's memory, os.totalmem() by default; tests set it to check the refusal. */
  readonly totalMemoryBytes?: number;
}

export interface ValidatedBase {
  readonly family: ArchitectureFamily;
  /** Width of every space, in network order. */
  readonly widths: { readonly [space: string]: number };
}

export interface ValidatedZooModel {
  readonly id: string;
  /** Absolute path of the model's file or folder. */
  readonly path: string;
  /** The hash of its files when the plan was validated (equal to the manifest's, or the model is skipped). */
  readonly sha256: string;
  readonly family: ArchitectureFamily;
}

export interface SkippedZooModel {
  readonly id: string;
  readonly reason: string;
}

export interface ValidatedDataset {
  /** The data source, as the loader names it. */
  readonly name: string;
  /** Examples the task evaluates on (after its limit). */
  readonly count: number;
  readonly classes: number;
}

export interface PlanValidation {
  readonly base: ValidatedBase;
  /** The zoo models the run may take layers from, in selection order. */
  readonly zooModels: readonly ValidatedZooModel[];
  /** Selected models the run will not use, with the reason (unreadable, or the base itself). */
  readonly skipped: readonly SkippedZooModel[];
  /** One per objective task, in task order. */
  readonly datasets: readonly ValidatedDataset[];
  readonly memory: PlanMemoryEstimate;
}

/** What validation keeps of the base after closing it. */
interface BaseFacts extends ValidatedBase {
  readonly layers: readonly string[];
  /** How the base reads examples; undefined for a language model, which reads token sequences. */
  readonly layout: ExampleLayout | undefined;
  readonly inputWidth?: number;
  readonly outputWidth?: number;
  readonly bytes: number;
}

interface ZooFacts {
  readonly models: ValidatedZooModel[];
  readonly skipped: SkippedZooModel[];
  /** Layer names of every usable model, for the candidate list. */
  readonly layers: Map<string, readonly string[]>;
  readonly largestBytes: number;
  readonly zoo: Zoo;
}

/**
 * Checks, before any work starts, that the plan can run: the base is readable and of a family the forward pass
 * runs; the zoo has a manifest and the ids the plan names; the zoo models are readable (unreadable ones are
 * skipped with the reason unless the plan includes them by id); listed candidates name layers that exist; every
 * task's data set loads and fits the base; the memory estimate fits the machine. Errors name the plan field (and
 * its line, for a plan from parsePlanFile).
 */
export async function validatePlan(
  plan: AssemblyPlan,
  options: PlanValidationOptions = {},
): Promise<PlanValidation> {
  const base = await readBase(plan);
  await checkAncestor(plan);
  const zoo = await readZooSelection(plan);
  checkListedCandidates(plan, base, zoo);
  const { datasets, dataBytes } =
    options.checkData === false ? { datasets: [], dataBytes: 0 } : await readTaskData(plan, base);
  const memory = estimatePlanMemory(
    { baseBytes: base.bytes, largestZooModelBytes: zoo.largestBytes, dataBytes },
    options.totalMemoryBytes ?? totalmem(),
  );
  if (memory.estimateBytes > MEMORY_LIMIT_FRACTION * memory.totalBytes) {
    throw new PlanError(
      `${plan.file}: the run is estimated to need ${formatBytes(memory.estimateBytes)} (${memory.workingFactor} × (base ` +
        `${formatBytes(memory.baseBytes)} + largest zoo model ${formatBytes(memory.largestZooModelBytes)} + data ` +
        `${formatBytes(memory.dataBytes)})), over ${MEMORY_LIMIT_FRACTION * 100}% of this machine's ` +
        `${formatBytes(memory.totalBytes)}; exclude the largest zoo models or set a limit on the tasks`,
    );
  }
  return {
    base: { family: base.family, widths: base.widths },
    zooModels: zoo.models,
    skipped: zoo.skipped,
    datasets,
    memory,
  };
}

async function readBase(plan: AssemblyPlan): Promise<BaseFacts> {
  let model: LoadedModel;
  try {
    model = await loadModel(plan.base);
  } catch (error) {
    if (error instanceof MalError)
      throw planFieldError(plan, 'base', `cannot read the base model: ${error.message}`);
    throw error;
  }
  try {
    const { spec } = model;
    const transformer = isTransformerFamily(spec.family);
    if (!transformer && !(FORWARD_FAMILIES as readonly string[]).includes(spec.family)) {
      throw planFieldError(
        plan,
        'base',
        `${plan.base} is a '${spec.family}' model; assembly evaluates the base on its tasks, and forward passes ` +
          `run for ${[...FORWARD_FAMILIES, ...TRANSFORMER_FAMILIES].join(', ')} only`,
      );
    }
    if (plan.merge.regmean && !REGMEAN_FAMILIES.includes(spec.family))
      throw planFieldError(
        plan,
        'merge.regmean',
        `RegMean solves dense layers of MLP models only, and ${plan.base} is a '${spec.family}' model (a convolution would need the Gram matrices of its input patches); set merge.regmean: false`,
      );
    const widths: Record<string, number> = {};
    for (const space of spec.spaces) widths[space.name] = model.widths.get(space.name)!;
    return {
      family: spec.family,
      widths,
      layers: spec.layers.map((layer) => layer.name),
      layout: transformer ? undefined : exampleLayoutFor(spec),
      inputWidth: transformer ? undefined : widthOfRole(model, spec, 'input'),
      outputWidth: transformer ? undefined : widthOfRole(model, spec, 'output'),
      bytes: float32BytesOf(model.source),
    };
  } finally {
    await model.source.close();
  }
}

/** The plan's merge.ancestor, when it names one: readable, with every base tensor in the base's shape. */
async function checkAncestor(plan: AssemblyPlan): Promise<void> {
  const path = plan.merge.ancestor;
  if (path === undefined) return;
  const field = 'merge.ancestor';
  let ancestor: LoadedModel;
  try {
    ancestor = await loadModel(path);
  } catch (error) {
    if (error instanceof MalError)
      throw planFieldError(plan, field, `cannot read the ancestor: ${error.message}`);
    throw error;
  }
  try {
    const base = await loadModel(plan.base);
    try {
      checkAncestorFits(base, ancestor, base.source.tensorNames(), path);
    } catch (error) {
      if (error instanceof MalError) throw planFieldError(plan, field, error.message);
      throw error;
    } finally {
      await base.source.close();
    }
  } finally {
    await ancestor.source.close();
  }
}

function widthOfRole(
  model: LoadedModel,
  spec: ArchitectureSpec,
  role: 'input' | 'output',
): number | undefined {
  const space = spec.spaces.find((s) => s.role === role);
  return space === undefined ? undefined : model.widths.get(space.name);
}

/** The written field that names the zoo folder: `zoo.path` in the mapping form, else `zoo`. */
function zooPathField(plan: AssemblyPlan): string {
  const lines = planFieldLines(plan);
  return lines === undefined || lines.has('zoo.path') ? 'zoo.path' : 'zoo';
}

async function readZooSelection(plan: AssemblyPlan): Promise<ZooFacts> {
  let zoo: Zoo;
  try {
    zoo = await openZoo(plan.zoo.path);
  } catch (error) {
    if (error instanceof MalError) throw planFieldError(plan, zooPathField(plan), error.message);
    throw error;
  }
  const byId = new Map(zoo.manifest.models.map((entry) => [entry.id, entry]));
  checkIdsExist(plan, zoo, 'zoo.include', plan.zoo.include ?? []);
  checkIdsExist(plan, zoo, 'zoo.exclude', plan.zoo.exclude);
  const excluded = new Set(plan.zoo.exclude);
  const included = plan.zoo.include;
  const selected =
    included === undefined
      ? zoo.manifest.models.filter((entry) => !excluded.has(entry.id))
      : included.map((id) => byId.get(id)!);
  const facts: ZooFacts = { models: [], skipped: [], layers: new Map(), largestBytes: 0, zoo };
  let largestBytes = 0;
  const basePath = resolve(plan.base);
  for (const entry of selected) {
    const path = zooModelPath(zoo, entry);
    if (resolve(path) === basePath) {
      facts.skipped.push({ id: entry.id, reason: 'is the base model' });
      continue;
    }
    const read = await readZooModel(zoo, entry);
    if ('reason' in read) {
      const index = included?.indexOf(entry.id) ?? -1;
      if (index >= 0) {
        throw planFieldError(
          plan,
          `zoo.include[${index}]`,
          `zoo model '${entry.id}' cannot be read: ${read.reason}`,
        );
      }
      facts.skipped.push({ id: entry.id, reason: read.reason });
      continue;
    }
    facts.models.push({ id: entry.id, path, sha256: read.sha256, family: read.family });
    facts.layers.set(entry.id, read.layers);
    largestBytes = Math.max(largestBytes, read.bytes);
  }
  if (facts.models.length === 0) {
    const why = facts.skipped.map((s) => `${s.id}: ${s.reason}`).join('; ');
    throw planFieldError(
      plan,
      zooPathField(plan),
      `no zoo model is left to take layers from${why === '' ? '' : ` (skipped: ${why})`}`,
    );
  }
  return { ...facts, largestBytes };
}

function checkIdsExist(plan: AssemblyPlan, zoo: Zoo, field: string, ids: readonly string[]): void {
  const known = new Set(zoo.manifest.models.map((entry) => entry.id));
  const missing = ids.map((id, index) => ({ id, index })).filter(({ id }) => !known.has(id));
  if (missing.length === 0) return;
  throw planFieldError(
    plan,
    `${field}[${missing[0].index}]`,
    `${zooManifestPath(zoo.dir)} has no model with id ${missing.map(({ id }) => `'${id}'`).join(', ')} ` +
      `(ids: ${[...known].join(', ')})`,
  );
}

type ZooModelRead =
  | {
      readonly family: ArchitectureFamily;
      readonly layers: readonly string[];
      readonly bytes: number;
      /** The hash of the files as they are now, which matched the manifest's. */
      readonly sha256: string;
    }
  | { readonly reason: string };

/**
 * Opens a zoo model now (the manifest may be out of date); the project's own errors make it unreadable. Its files
 * are hashed on use: a model whose bytes no longer match the manifest's hash (changed or damaged since it was
 * added) is left out with the reason, never used under a hash that is not its own. A path that leaves the zoo,
 * or leads to something other than regular files, is refused the same way.
 */
async function readZooModel(zoo: Zoo, entry: ZooEntry): Promise<ZooModelRead> {
  if (!entry.readable) return { reason: entry.reason };
  let model: LoadedModel;
  let sha256: string;
  try {
    const path = await resolveZooModel(zoo.dir, entry);
    sha256 = (await hashModel(path)).sha256;
    if (sha256 !== entry.sha256) {
      return {
        reason:
          `its files no longer match the zoo's hash (${zooManifestPath(zoo.dir)} records ${entry.sha256}, ` +
          `the files hash to ${sha256}); run 'mal zoo verify'`,
      };
    }
    model = await loadModel(path);
  } catch (error) {
    if (error instanceof MalError) return { reason: error.message };
    throw error;
  }
  try {
    return {
      family: model.spec.family,
      layers: model.spec.layers.map((layer) => layer.name),
      bytes: float32BytesOf(model.source),
      sha256,
    };
  } finally {
    await model.source.close();
  }
}

/** The written field of the candidate list: `candidates` in the short form (a bare list), else `candidates.list`. */
function candidateListField(plan: AssemblyPlan): string {
  return planFieldLines(plan)?.has('candidates[0]') === true ? 'candidates' : 'candidates.list';
}

function checkListedCandidates(plan: AssemblyPlan, base: BaseFacts, zoo: ZooFacts): void {
  if (plan.candidates.policy !== 'list') return;
  const listField = candidateListField(plan);
  plan.candidates.list.forEach((candidate, index) => {
    const field = `${listField}[${index}]`;
    const layers = zoo.layers.get(candidate.model);
    if (layers === undefined) {
      throw planFieldError(plan, `${field}.model`, whyNotUsable(plan, zoo, candidate));
    }
    checkLayersExist(plan, `${field}.layers`, candidate.layers, layers, `zoo model '${candidate.model}'`);
    checkLayersExist(plan, `${field}.baseLayers`, candidate.baseLayers, base.layers, 'the base');
  });
}

function whyNotUsable(plan: AssemblyPlan, zoo: ZooFacts, candidate: ListedCandidate): string {
  const id = candidate.model;
  if (!zoo.zoo.manifest.models.some((entry) => entry.id === id)) {
    return `${zooManifestPath(zoo.zoo.dir)} has no model with id '${id}'`;
  }
  const skipped = zoo.skipped.find((s) => s.id === id);
  if (skipped !== undefined) return `zoo model '${id}' is skipped: ${skipped.reason}`;
  if (plan.zoo.exclude.includes(id)) return `zoo model '${id}' is excluded by zoo.exclude`;
  return `zoo model '${id}' is not in zoo.include`;
}

function checkLayersExist(
  plan: AssemblyPlan,
  field: string,
  wanted: readonly string[],
  present: readonly string[],
  owner: string,
): void {
  wanted.forEach((layer, index) => {
    if (!present.includes(layer)) {
      throw planFieldError(
        plan,
        `${field}[${index}]`,
        `${owner} has no layer '${layer}' (its layers: ${present.join(', ')})`,
      );
    }
  });
}

/**
 * Loads every task's data set as the run will (the base family's layout, the task's limit) and checks it fits the
 * base: as many input features (or channels) as the base reads, no more classes than it has outputs.
 */
async function readTaskData(
  plan: AssemblyPlan,
  base: BaseFacts,
): Promise<{ datasets: ValidatedDataset[]; dataBytes: number }> {
  const datasets: ValidatedDataset[] = [];
  const loaded = new Map<string, ValidatedDataset>();
  let dataBytes = 0;
  // The report data is checked like the tasks' (it must load and fit the base) but is no task.
  const sources = [
    ...plan.objective.tasks.map((task, index) => ({
      data: task.data,
      limit: task.limit,
      field: `objective.tasks[${index}].data`,
      isTask: true,
    })),
    ...plan.report.map((data, index) => ({
      data,
      limit: undefined,
      field: `report[${index}]`,
      isTask: false,
    })),
  ];
  for (const task of sources) {
    const { field } = task;
    // Tasks on the same data with the same limit share one copy in memory.
    const key = `${task.data}\u0000${task.limit ?? ''}`;
    let summary = loaded.get(key);
    if (summary === undefined) {
      let dataset: Awaited<ReturnType<typeof loadDataset>>;
      try {
        dataset =
          base.layout === undefined
            ? await loadTextForBase(plan.base, task.data, task.limit)
            : await loadDataset(task.data, {
                layout: base.layout,
                dataDir: plan.data.dataDir,
                limit: task.limit,
              });
      } catch (error) {
        if (error instanceof MalError) throw planFieldError(plan, field, error.message);
        throw error;
      }
      if (base.inputWidth !== undefined && dataset.exampleShape[0] !== base.inputWidth) {
        throw planFieldError(
          plan,
          field,
          `${dataset.name} has examples of shape [${dataset.exampleShape.join(', ')}] but the base reads ` +
            `${base.inputWidth} ${base.layout === 'flat' ? 'features' : 'channels'}`,
        );
      }
      if (base.outputWidth !== undefined && dataset.classes > base.outputWidth) {
        throw planFieldError(
          plan,
          field,
          `${dataset.name} has ${dataset.classes} classes but the base has ${base.outputWidth} outputs`,
        );
      }
      summary = { name: dataset.name, count: dataset.count, classes: dataset.classes };
      dataBytes += (dataset.features.length + dataset.labels.length) * Float32Array.BYTES_PER_ELEMENT;
      loaded.set(key, summary);
    }
    if (task.isTask) datasets.push(summary);
  }
  return { datasets, dataBytes };
}

/** A language model's text: its tokenizer and context, as the run reads it (loadDatasetForModel). */
async function loadTextForBase(path: string, source: string, limit: number | undefined): Promise<Dataset> {
  const model = await loadModel(path);
  try {
    return await loadDatasetForModel(model, source, limit === undefined ? {} : { limit });
  } finally {
    await model.source.close();
  }
}

function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}
