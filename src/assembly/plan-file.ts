import { readFile } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { isMap, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import type { KernelPolicy } from '../align/axis-index.js';
import { BACKEND_PREFERENCES } from '../compute/backend.js';
import { parseDataSource } from '../data/data-source.js';
import { MalError } from '../errors.js';
import { parseLambdaGrid } from '../eval/lambda-grid.js';
import { UNMATCHED_POLICIES } from '../merge/mal-interpolation.js';
import { isValidZooId } from '../zoo/zoo-manifest.js';
import type {
  AlignmentSettings,
  AssemblyPlan,
  CandidatePolicy,
  DataSettings,
  ListedCandidate,
  MergeSettings,
  Objective,
  ObjectiveTask,
  ZooSelection,
} from './assembly-plan.js';
import { PlanError } from './plan-error.js';
import { rememberPlanFieldLines } from './plan-field-lines.js';
import { childPath, PlanNodeReader } from './plan-node-reader.js';

/*
 * Plan file format for `mal assemble <plan.yaml>` (YAML, or JSON with the same structure). Relative paths are
 * relative to the plan file's folder. Unknown keys are errors. Defaults in brackets.
 *
 *   base: ../zoo/demo/models/base.safetensors   # required: the model to improve (safetensors file or folder)
 *   zoo: ../zoo/demo                            # required: a zoo folder (holding zoo.json), or a mapping:
 *   #  zoo: {path: ../zoo/demo, include: [id, …], exclude: [id, …]}
 *   #    include: only these models [every readable model]; exclude: never these [none]
 *   objective:                                  # required: Σ weight · value, value = loss or −accuracy
 *     tasks:                                    # at least one
 *       - data: fashion-mnist:val               # required: a data source (fashion-mnist:test, a .arrow file, …)
 *         metric: loss                          # required: loss | accuracy
 *         weight: 1                             # > 0 [1]
 *         limit: 1000                           # evaluate on the first n examples [all]
 *         maxDrop: 0.01                         # floor: how much worse than the base this task may get [none]
 *   candidates:
 *     policy: same-depth                        # same-depth | all | list [same-depth; list when `list` is given]
 *     topK: 6                                   # kept after the pre-score for the λ grid, ≥ 1 [6]
 *     preScore: probe                           # probe (objective at λ = 0.5 and 1 on a few examples) | alignment (weight cosine, no data) [probe]
 *     probeExamples: 256                        # examples per task for the probe, ≥ 1 [256]
 *     list:                                     # with policy list: the only candidates tried
 *       - {model: zoo-id, layers: [layers.0], baseLayers: [layers.0]}   # paired in order, same length
 *   #  candidates: [{model: …, layers: […], baseLayers: […]}]   is short for {policy: list, list: […]}
 *   alignment:
 *     init: best                                # identity | sorted | best [best]
 *     order: network                            # network | random [network]
 *     maxSweeps: 50                             # integer ≥ 1 [50]
 *     tolerance: 1e-9                           # ≥ 0 [1e-9]
 *     kernel: incompatible                      # incompatible | centre [incompatible]
 *   merge:
 *     unmatched: zero                           # zero | keep [zero]
 *     grid: "0:0.1:1"                           # start:step:end or a list; from 0 to 1 ["0:0.1:1"]
 *     epsilon: 0.01                             # ε of λ*, a fraction of the objective at λ = 0; ≥ 0 [0.01]
 *     lambdaMin: 0.1                            # candidates with λ* below this are not accepted; in [0, 1] [0.1]
 *     lambdaChoice: best                        # threshold | best [best]
 *   steps: 5                                    # most accepted steps, integer ≥ 0 [5]
 *   seed: 0                                     # integer in [0, 2^32) [0]
 *   output: out/demo                            # [<plan folder>/out/<plan file name without extension>]
 *   data: {dataDir: /usr/share/datasets/fashion-mnist}   # the Fashion-MNIST IDX folder [MAL_DATA_DIR, else Debian's]
 *   backend: auto                               # auto | tfjs-node-gpu | tfjs-node | webgpu | wasm | cpu [auto]
 */

const TOP_LEVEL_KEYS = [
  'base',
  'zoo',
  'objective',
  'candidates',
  'alignment',
  'merge',
  'steps',
  'seed',
  'output',
  'data',
  'backend',
] as const;
const METRICS: readonly ObjectiveTask['metric'][] = ['loss', 'accuracy'];
const POLICIES: readonly CandidatePolicy['policy'][] = ['same-depth', 'all', 'list'];
const INITS: readonly AlignmentSettings['init'][] = ['identity', 'sorted', 'best'];
const ORDERS: readonly AlignmentSettings['order'][] = ['network', 'random'];
const KERNEL_POLICIES: readonly KernelPolicy[] = ['incompatible', 'centre'];
const LAMBDA_CHOICES: readonly MergeSettings['lambdaChoice'][] = ['threshold', 'best'];
const PLAN_EXTENSIONS = ['.yaml', '.yml', '.json'];

export const DEFAULT_TOP_K = 6;
export const DEFAULT_PRE_SCORE = 'probe';
export const DEFAULT_PROBE_EXAMPLES = 256;
export const DEFAULT_STEPS = 5;
export const DEFAULT_SEED = 0;
export const DEFAULT_BACKEND = 'auto';
export const DEFAULT_ALIGNMENT: AlignmentSettings = {
  init: 'best',
  order: 'network',
  maxSweeps: 50,
  tolerance: 1e-9,
  kernel: 'incompatible',
};
export const DEFAULT_LAMBDA_GRID = '0:0.1:1';
export const DEFAULT_MERGE: MergeSettings = {
  unmatched: 'zero',
  grid: parseLambdaGrid(DEFAULT_LAMBDA_GRID),
  epsilon: 0.01,
  lambdaMin: 0.1,
  lambdaChoice: 'best',
};

/** Reads a plan file; `.json` files must be strict JSON, anything else is read as YAML. */
export async function loadPlanFile(path: string): Promise<AssemblyPlan> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new PlanError(
      `${path}: cannot read plan file: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return parsePlanFile(text, path);
}

/**
 * Parses and checks a plan file's text; `file` names it in messages and its folder anchors relative paths.
 * Errors read `file:line: field.path: what is wrong`. The line of every field is kept with the plan for
 * validatePlan's messages (see plan-field-lines.ts).
 */
export function parsePlanFile(text: string, file: string): AssemblyPlan {
  if (file.toLowerCase().endsWith('.json')) {
    try {
      JSON.parse(text);
    } catch (error) {
      throw new PlanError(
        `${file}: not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const firstError = document.errors[0];
  if (firstError !== undefined) {
    const line = lineCounter.linePos(firstError.pos[0]).line;
    throw new PlanError(`${file}:${line}: ${firstError.message.split('\n')[0]}`);
  }
  const reader = new PlanNodeReader(file, lineCounter);
  const plan = new PlanReader(reader, file).readPlan(document.contents);
  rememberPlanFieldLines(plan, new Map(reader.lines));
  return plan;
}

/** The plan file's name without its extension: the default output folder's name. */
function planName(file: string): string {
  const name = basename(file);
  const extension = extname(name);
  return PLAN_EXTENSIONS.includes(extension.toLowerCase()) ? name.slice(0, -extension.length) : name;
}

/** The plan's sections, each read with its defaults filled in. */
class PlanReader {
  private readonly folder: string;

  constructor(
    private readonly r: PlanNodeReader,
    private readonly file: string,
  ) {
    this.folder = dirname(resolve(file));
  }

  readPlan(root: Node | null): AssemblyPlan {
    const fields = this.r.map(root, '', TOP_LEVEL_KEYS);
    const optional = <T>(key: string, read: (node: Node) => T, fallback: T): T => {
      const node = fields.get(key);
      return node === undefined ? fallback : read(node);
    };
    return {
      file: this.file,
      base: this.path(this.r.required(fields, 'base', root, ''), 'base'),
      zoo: this.readZoo(this.r.required(fields, 'zoo', root, '')),
      objective: this.readObjective(this.r.required(fields, 'objective', root, '')),
      candidates: optional('candidates', (n) => this.readCandidates(n), {
        policy: 'same-depth',
        list: [],
        topK: DEFAULT_TOP_K,
        preScore: DEFAULT_PRE_SCORE,
        probeExamples: DEFAULT_PROBE_EXAMPLES,
      }),
      alignment: optional('alignment', (n) => this.readAlignment(n), DEFAULT_ALIGNMENT),
      merge: optional('merge', (n) => this.readMerge(n), DEFAULT_MERGE),
      steps: optional('steps', (n) => this.r.number(n, 'steps', { integer: true, min: 0 }), DEFAULT_STEPS),
      seed: optional(
        'seed',
        (n) => this.r.number(n, 'seed', { integer: true, min: 0, max: 0xffff_ffff }),
        DEFAULT_SEED,
      ),
      output: optional(
        'output',
        (n) => this.path(n, 'output'),
        join(this.folder, 'out', planName(this.file)),
      ),
      data: optional('data', (n) => this.readData(n), {}),
      backend: optional('backend', (n) => this.r.choice(n, 'backend', BACKEND_PREFERENCES), DEFAULT_BACKEND),
    };
  }

  private readZoo(node: Node): ZooSelection {
    if (!isMap(node)) return { path: this.path(node, 'zoo'), exclude: [] };
    const fields = this.r.map(node, 'zoo', ['path', 'include', 'exclude']);
    const path = this.path(this.r.required(fields, 'path', node, 'zoo'), 'zoo.path');
    const includeNode = fields.get('include');
    const include = includeNode === undefined ? undefined : this.ids(includeNode, 'zoo.include');
    const excludeNode = fields.get('exclude');
    const exclude = excludeNode === undefined ? [] : this.ids(excludeNode, 'zoo.exclude', true);
    if (include !== undefined && excludeNode !== undefined) {
      const both = exclude.findIndex((id) => include.includes(id));
      if (both >= 0) {
        this.r.fail(
          this.r.seq(excludeNode, 'zoo.exclude')[both],
          `zoo.exclude[${both}]`,
          `'${exclude[both]}' is also in zoo.include`,
        );
      }
    }
    return include === undefined ? { path, exclude } : { path, include, exclude };
  }

  private ids(node: Node, path: string, mayBeEmpty = false): string[] {
    const items = this.r.seq(node, path);
    if (mayBeEmpty && items.length === 0) return [];
    const ids = this.r.stringList(node, path);
    ids.forEach((id, index) => {
      if (!isValidZooId(id)) {
        this.r.fail(items[index], `${path}[${index}]`, `'${id}' is not a zoo model id`);
      }
    });
    return ids;
  }

  private readObjective(node: Node): Objective {
    const fields = this.r.map(node, 'objective', ['tasks']);
    const tasksNode = this.r.required(fields, 'tasks', node, 'objective');
    const items = this.r.seq(tasksNode, 'objective.tasks');
    if (items.length === 0) this.r.fail(tasksNode, 'objective.tasks', 'must list at least one task');
    return { tasks: items.map((item, index) => this.readTask(item, `objective.tasks[${index}]`)) };
  }

  private readTask(node: Node, path: string): ObjectiveTask {
    const fields = this.r.map(node, path, ['data', 'metric', 'weight', 'limit', 'maxDrop']);
    const data = this.dataSource(this.r.required(fields, 'data', node, path), `${path}.data`);
    const metric = this.r.choice(this.r.required(fields, 'metric', node, path), `${path}.metric`, METRICS);
    const weightNode = fields.get('weight');
    const weight = weightNode === undefined ? 1 : this.r.number(weightNode, `${path}.weight`, { above: 0 });
    const limitNode = fields.get('limit');
    const maxDropNode = fields.get('maxDrop');
    return {
      data,
      metric,
      weight,
      ...(limitNode === undefined
        ? {}
        : { limit: this.r.number(limitNode, `${path}.limit`, { integer: true, min: 1 }) }),
      ...(maxDropNode === undefined
        ? {}
        : { maxDrop: this.r.number(maxDropNode, `${path}.maxDrop`, { min: 0 }) }),
    };
  }

  /** Checks the source's form without touching the disk; an Arrow file's relative path gets the plan's folder. */
  private dataSource(node: Node, path: string): string {
    const text = this.r.string(node, path);
    let source: ReturnType<typeof parseDataSource>;
    try {
      source = parseDataSource(text);
    } catch (error) {
      if (error instanceof MalError) this.r.fail(node, path, error.message);
      throw error;
    }
    if (source.kind !== 'arrow' || isAbsolute(source.path)) return text;
    const absolute = resolve(this.folder, source.path);
    return text.startsWith('arrow:') ? `arrow:${absolute}` : absolute;
  }

  private readCandidates(node: Node): CandidatePolicy {
    if (!isMap(node)) {
      return {
        policy: 'list',
        list: this.readCandidateList(node, 'candidates'),
        topK: DEFAULT_TOP_K,
        preScore: DEFAULT_PRE_SCORE,
        probeExamples: DEFAULT_PROBE_EXAMPLES,
      };
    }
    const fields = this.r.map(node, 'candidates', ['policy', 'topK', 'list', 'preScore', 'probeExamples']);
    const listNode = fields.get('list');
    const policyNode = fields.get('policy');
    const policy =
      policyNode === undefined
        ? listNode === undefined
          ? 'same-depth'
          : 'list'
        : this.r.choice(policyNode, 'candidates.policy', POLICIES);
    if (policy === 'list' && listNode === undefined) {
      this.r.fail(node, 'candidates.list', "policy 'list' needs a list of candidates");
    }
    if (policy !== 'list' && listNode !== undefined) {
      this.r.fail(listNode, 'candidates.list', `is only used with policy 'list' (the policy is '${policy}')`);
    }
    const topKNode = fields.get('topK');
    const preScoreNode = fields.get('preScore');
    const probeNode = fields.get('probeExamples');
    return {
      preScore:
        preScoreNode === undefined
          ? DEFAULT_PRE_SCORE
          : this.r.choice(preScoreNode, 'candidates.preScore', ['probe', 'alignment'] as const),
      probeExamples:
        probeNode === undefined
          ? DEFAULT_PROBE_EXAMPLES
          : this.r.number(probeNode, 'candidates.probeExamples', { integer: true, min: 1 }),
      policy,
      list: listNode === undefined ? [] : this.readCandidateList(listNode, 'candidates.list'),
      topK:
        topKNode === undefined
          ? DEFAULT_TOP_K
          : this.r.number(topKNode, 'candidates.topK', { integer: true, min: 1 }),
    };
  }

  private readCandidateList(node: Node, path: string): ListedCandidate[] {
    const items = this.r.seq(node, path);
    if (items.length === 0) this.r.fail(node, path, 'must list at least one candidate');
    return items.map((item, index) => {
      const itemPath = `${path}[${index}]`;
      const fields = this.r.map(item, itemPath, ['model', 'layers', 'baseLayers']);
      const model = this.r.string(this.r.required(fields, 'model', item, itemPath), `${itemPath}.model`);
      const layers = this.r.stringList(
        this.r.required(fields, 'layers', item, itemPath),
        `${itemPath}.layers`,
      );
      const baseLayersNode = this.r.required(fields, 'baseLayers', item, itemPath);
      const baseLayers = this.r.stringList(baseLayersNode, `${itemPath}.baseLayers`);
      if (baseLayers.length !== layers.length) {
        this.r.fail(
          baseLayersNode,
          `${itemPath}.baseLayers`,
          `pairs in order with layers, so needs ${layers.length} name(s), got ${baseLayers.length}`,
        );
      }
      return { model, layers, baseLayers };
    });
  }

  private readAlignment(node: Node): AlignmentSettings {
    const fields = this.r.map(node, 'alignment', ['init', 'order', 'maxSweeps', 'tolerance', 'kernel']);
    const d = DEFAULT_ALIGNMENT;
    const get = <T>(key: string, read: (node: Node, path: string) => T, fallback: T): T => {
      const field = fields.get(key);
      return field === undefined ? fallback : read(field, childPath('alignment', key));
    };
    return {
      init: get('init', (n, p) => this.r.choice(n, p, INITS), d.init),
      order: get('order', (n, p) => this.r.choice(n, p, ORDERS), d.order),
      maxSweeps: get('maxSweeps', (n, p) => this.r.number(n, p, { integer: true, min: 1 }), d.maxSweeps),
      tolerance: get('tolerance', (n, p) => this.r.number(n, p, { min: 0 }), d.tolerance),
      kernel: get('kernel', (n, p) => this.r.choice(n, p, KERNEL_POLICIES), d.kernel),
    };
  }

  private readMerge(node: Node): MergeSettings {
    const fields = this.r.map(node, 'merge', ['unmatched', 'grid', 'epsilon', 'lambdaMin', 'lambdaChoice']);
    const d = DEFAULT_MERGE;
    const get = <T>(key: string, read: (node: Node, path: string) => T, fallback: T): T => {
      const field = fields.get(key);
      return field === undefined ? fallback : read(field, childPath('merge', key));
    };
    return {
      unmatched: get('unmatched', (n, p) => this.r.choice(n, p, UNMATCHED_POLICIES), d.unmatched),
      grid: get('grid', (n, p) => this.readGrid(n, p), d.grid),
      epsilon: get('epsilon', (n, p) => this.r.number(n, p, { min: 0 }), d.epsilon),
      lambdaMin: get('lambdaMin', (n, p) => this.r.number(n, p, { min: 0, max: 1 }), d.lambdaMin),
      lambdaChoice: get('lambdaChoice', (n, p) => this.r.choice(n, p, LAMBDA_CHOICES), d.lambdaChoice),
    };
  }

  /** `start:step:end`, a comma list in a string, or a YAML list of numbers; parseLambdaGrid checks all three. */
  private readGrid(node: Node, path: string): number[] {
    const text = isMap(node)
      ? this.r.fail(node, path, "expected 'start:step:end' or a list of numbers, got a mapping")
      : isSeq(node)
        ? this.r
            .seq(node, path)
            .map((item, index) => this.r.number(item, `${path}[${index}]`))
            .join(',')
        : this.r.string(node, path);
    try {
      return parseLambdaGrid(text);
    } catch (error) {
      if (error instanceof MalError) this.r.fail(node, path, error.message);
      throw error;
    }
  }

  private readData(node: Node): DataSettings {
    const fields = this.r.map(node, 'data', ['dataDir']);
    const dataDir = fields.get('dataDir');
    return dataDir === undefined ? {} : { dataDir: this.path(dataDir, 'data.dataDir') };
  }

  private path(node: Node, path: string): string {
    return resolve(this.folder, this.r.string(node, path));
  }
}
