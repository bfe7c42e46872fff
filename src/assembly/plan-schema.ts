import { basename, dirname, extname, join, resolve } from 'node:path';
import { z } from 'zod';
import { BACKEND_PREFERENCES } from '../compute/backend.js';
import { MalError } from '../errors.js';
import { CALIBRATION_KINDS } from '../eval/calibration.js';
import { parseLambdaGrid } from '../eval/lambda-grid.js';
import type { UnmatchedPolicy } from '../merge/mal-interpolation.js';
import { mergeMethod, mergeMethodFieldSchema } from '../merge/merge-method-registry.js';
import { dataSourceField } from '../schema/data-source-field.js';
import { boundedNumber, distinctList, nonEmptyString, strictObject } from '../schema/schema-kit.js';
import { isValidZooId } from '../zoo/zoo-manifest.js';

/*
 * The plan file of `mal assemble <plan.yaml>` (YAML, or JSON with the same structure), as one zod schema: it
 * gives the plan's types (assembly-plan.ts), its defaults, its checks, the JSON Schema editors read
 * (docs/schema/plan.schema.json) and the format's documentation (docs/plan-format.md). Every description below
 * is user documentation. Relative paths are relative to the plan file's folder; unknown keys are errors.
 */

/** Where the plan file lies: relative paths resolve against its folder, the default output is named after it. */
export interface PlanPlace {
  /** The plan file as given (kept in the plan for messages). */
  readonly file: string;
}

const PLAN_EXTENSIONS = ['.yaml', '.yml', '.json'];

/** The plan file's name without its extension: the default output folder's name. */
function planName(file: string): string {
  const name = basename(file);
  const extension = extname(name);
  return PLAN_EXTENSIONS.includes(extension.toLowerCase()) ? name.slice(0, -extension.length) : name;
}

// ---- Sections that need no plan folder -------------------------------------------------------------------

export const LAMBDA_GRID_DEFAULT = '0:0.1:1';

/** `start:step:end`, a comma list in a string, or a list of numbers; parseLambdaGrid checks all three. */
const lambdaGridSchema = z
  .union([z.string(), z.array(z.number())], { error: "expected 'start:step:end' or a list of numbers" })
  .transform((grid, context) => {
    const text = typeof grid === 'string' ? grid : grid.join(',');
    try {
      return parseLambdaGrid(text);
    } catch (error) {
      if (!(error instanceof MalError)) throw error;
      context.addIssue({ code: 'custom', message: error.message, input: grid });
      return z.NEVER;
    }
  });

export const alignmentSettingsSchema = strictObject({
  match: z
    .enum(['weights', 'activations'])
    .default('weights')
    .describe(
      "What the maps are chosen by: weights (weight matching: coordinate descent on ⟨W_base, T(W_target)⟩) or activations (each free space's map is the assignment maximising the correlation between base and target unit activations on the `statistics` examples; the width cases are the same). For MLP and VGG-style CNN models; a candidate of another family is recorded as failed.",
    ),
  init: z
    .enum(['identity', 'sorted', 'best'])
    .default('best')
    .describe(
      'Where coordinate descent starts: identity (identity with truncation, as Git Re-Basin), sorted (units matched by their sorted weights), or best (both, keeping the higher final objective).',
    ),
  order: z
    .enum(['network', 'random'])
    .default('network')
    .describe(
      'network: free spaces in network order every sweep; random: a fresh seeded shuffle each sweep.',
    ),
  maxSweeps: boundedNumber({ integer: true, min: 1, max: 1e6 })
    .default(50)
    .describe('Most coordinate-descent sweeps over all spaces.'),
  tolerance: boundedNumber({ min: 0 })
    .default(1e-9)
    .describe(
      'Stop when a whole sweep raises the alignment objective by no more than tolerance · max(1, |objective|).',
    ),
  kernel: z
    .enum(['incompatible', 'centre'])
    .default('incompatible')
    .describe(
      'A convolution kernel whose size differs between base and target: incompatible (refuse the candidate) or centre (centre-pad or centre-crop the smaller one).',
    ),
}).describe('Options of the weight alignment (generalized permutation) of every candidate.');

/**
 * The fields of `merge:`. The merge-method registry adds `method: <name>` and that method's parameters by spreading
 * this shape into a new object, `strictObject({ ...mergeSettingsShape, method: mergeMethodSchema })` (so an unknown
 * key's message lists them too), or one such object per method in a `z.discriminatedUnion('method', …)`.
 */
export const mergeSettingsShape = {
  unmatched: z
    .enum(['zero', 'keep'] as const satisfies readonly UnmatchedPolicy[])
    .default('zero')
    .describe(
      'Base entries no target unit lands on (the target is narrower): zero (the aligned target is zero there) or keep (the base keeps its values there).',
    ),
  grid: lambdaGridSchema
    .prefault(LAMBDA_GRID_DEFAULT)
    .describe(
      "The λ grid each candidate is scored along: 'start:step:end' (inclusive) or a list of numbers, increasing from 0 to 1.",
    ),
  epsilon: boundedNumber({ min: 0 })
    .default(0.01)
    .describe(
      'ε of λ* (the largest grid λ such that every grid point up to it has an objective ≤ its value at λ = 0 plus ε), as a fraction of the objective at λ = 0.',
    ),
  lambdaMin: boundedNumber({ min: 0, max: 1 })
    .default(0.1)
    .describe('Candidates whose λ* is below this are not accepted.'),
  lambdaChoice: z
    .enum(['threshold', 'best'])
    .default('best')
    .describe('threshold: merge at λ*; best: at the grid point up to λ* with the best objective.'),
  donors: boundedNumber({ integer: true, min: 1, max: 16 })
    .default(1)
    .describe(
      'Most donors a step merges into the same base layers: θ ← w₀·θ + Σ wᵢ·Tᵢ(θᵢ), Σ w = 1. After the accepted candidate, scored candidates of other zoo models on the same base layers are added one at a time, best first, each with the weight from donorWeights that gives the best objective, and kept only where the objective improves. 1: one donor per step. Needs the mal method.',
    ),
  donorWeights: z
    .array(boundedNumber({ above: 0, max: 0.9 }))
    .min(1, { error: 'must list at least one weight' })
    .default([0.2, 0.35, 0.5])
    .describe(
      'The weights tried for each further donor; the donors already merged, and the base, share the rest in their proportions.',
    ),
  perLayerLambda: z
    .boolean()
    .default(false)
    .describe(
      'A λ per layer for a whole-model (several-layer) candidate: after its shared λ is chosen, each layer in turn tries every λ of the grid with the others fixed, keeping a change only where the objective improves (at most layers × (grid points − 1) evaluations).',
    ),
  repair: z
    .enum(['none', 'repair'])
    .default('none')
    .describe(
      "repair: after the merge at every λ > 0, set each merged hidden unit's pre-activation mean and standard deviation (measured on the `statistics` examples) to (1−λ)·base + λ·aligned target by an affine correction of its weights and bias (REPAIR, against the variance collapse of interpolation); a mix of several donors (merge.donors) gets w₀·base + Σ wᵢ·aligned donor i, with each layer's weights; BatchNorm statistics are recomputed on those examples instead. The output layer is never corrected. MLP and VGG-style CNN models only. none: no correction.",
    ),
  regmean: z
    .boolean()
    .default(false)
    .describe(
      "RegMean (Jin et al. 2023): every merged dense layer whose inputs a merged layer writes is the least-squares fit W = (Σ wᵢ·Gᵢ)⁻¹·Σ wᵢ·Gᵢ·Wᵢ of what the base (w₀ = 1−λ) and the aligned donors (wᵢ, λ for one) compute on their own inputs, Gᵢ being the Gram matrix of those inputs on the `statistics` examples (labels are not read; no gradient steps). Layers reading the network's input get the plain interpolation, which is what RegMean gives there. Applied before REPAIR when both are on. Needs the mal method and an MLP base (a plan with another base is refused when it is checked).",
    ),
};

export const mergeSettingsSchema = strictObject(mergeSettingsShape).describe(
  'How an aligned candidate is merged into the base: θ ← (1−λ)·θ + λ·T(θ_target).',
);

const zooId = z
  .string()
  .refine(isValidZooId, { error: (issue) => `'${String(issue.input)}' is not a zoo model id` });

const layerNames = distinctList(nonEmptyString()).min(1, { error: 'must list at least one name' });

export const listedCandidateSchema = strictObject({
  model: nonEmptyString().describe('The zoo model id the layers come from.'),
  layers: layerNames.describe('Layers of the zoo model, paired in order with baseLayers.'),
  baseLayers: layerNames.describe('The base layers they replace; as many as layers.'),
})
  .superRefine((candidate, context) => {
    if (candidate.baseLayers.length !== candidate.layers.length) {
      context.addIssue({
        code: 'custom',
        path: ['baseLayers'],
        message: `pairs in order with layers, so needs ${candidate.layers.length} name(s), got ${candidate.baseLayers.length}`,
      });
    }
  })
  .describe('One candidate: layers of one zoo model that replace base layers.');

const candidateListSchema = z
  .array(listedCandidateSchema)
  .min(1, { error: 'must list at least one candidate' })
  .meta({ id: 'candidateList', description: "With policy 'list': the only candidates tried." });

/** Successive halving's λ list: increasing, in (0, 1]; λ = 0 is the state itself and tells nothing. */
const halvingLambdasSchema = z
  .array(boundedNumber({ above: 0, max: 1 }))
  .min(1, { error: 'must list at least one λ' })
  .superRefine((lambdas, context) => {
    lambdas.forEach((lambda, i) => {
      if (i > 0 && !(lambda > lambdas[i - 1]))
        context.addIssue({
          code: 'custom',
          path: [i],
          message: `must be increasing: ${lambda} follows ${lambdas[i - 1]}`,
        });
    });
  });

const halvingSchema = strictObject({
  lambdas: halvingLambdasSchema
    .default([0.1, 0.25, 0.5, 1])
    .describe(
      'The merge factors every candidate is tried at in the first round; small ones keep donors that only help a little.',
    ),
  examples: boundedNumber({ integer: true, min: 1 })
    .default(64)
    .describe('Examples per task in the first round (the first ones of each task).'),
  eta: boundedNumber({ integer: true, min: 2 })
    .default(2)
    .describe(
      'Each round keeps 1/eta of the candidates (never fewer than topK) and multiplies the examples by eta.',
    ),
  rounds: boundedNumber({ integer: true, min: 1, max: 32 })
    .default(4)
    .describe(
      'Most rounds; after the last one the best topK by that round are kept. Later rounds try each candidate at its best λ so far and halfway to its neighbours.',
    ),
})
  .prefault({})
  .describe("With preScore 'halving': the rounds of successive halving.");

const candidatePolicyFields = {
  policy: z
    .enum(['same-depth', 'all', 'list'])
    .optional()
    .describe(
      'same-depth: each base layer with the zoo layer at the same relative depth, plus whole models of the same depth; all: every compatible (base layer, zoo layer) pair; list: only `list`. Default same-depth, or list when `list` is given.',
    ),
  topK: boundedNumber({ integer: true, min: 1 })
    .default(6)
    .describe('Candidates kept after the pre-score, for scoring along the λ grid.'),
  preScore: z
    .enum(['halving', 'probe', 'alignment'])
    .default('halving')
    .describe(
      "How candidates are ranked before the λ grid. halving: successive halving over λ and examples (every candidate at the λ of `halving.lambdas` on a few examples, the better part kept, the examples multiplied and λ refined around each one's best, until topK remain), so a donor that helps only at a small λ is not pruned; probe: the objective of the merge at λ = 0.5 and 1 on the first probeExamples examples of each task; alignment: the cosine between base and aligned target weights (no data, but it favours small layers over whole models).",
    ),
  probeExamples: boundedNumber({ integer: true, min: 1 })
    .default(256)
    .describe('Examples per task for the probe.'),
  halving: halvingSchema,
  list: candidateListSchema.optional().describe("With policy 'list': the only candidates tried."),
};

const candidateObjectSchema = strictObject(candidatePolicyFields);
const { policy: _, ...CANDIDATE_DEFAULTS } = candidateObjectSchema.parse({});

export const candidatePolicySchema = z
  .union([
    candidateListSchema.transform((list) => ({ ...CANDIDATE_DEFAULTS, policy: 'list' as const, list })),
    candidateObjectSchema.transform(({ policy: given, list, ...rest }, context) => {
      const policy = given ?? (list === undefined ? 'same-depth' : 'list');
      if (policy === 'list' && list === undefined) {
        context.addIssue({
          code: 'custom',
          path: ['list'],
          message: "policy 'list' needs a list of candidates",
          input: list,
        });
      }
      if (policy !== 'list' && list !== undefined) {
        context.addIssue({
          code: 'custom',
          path: ['list'],
          message: `is only used with policy 'list' (the policy is '${policy}')`,
          input: list,
        });
      }
      return { ...rest, policy, list: list ?? [] };
    }),
  ])
  .prefault({})
  .describe(
    'Which (base layer, zoo layer) pairs are tried, and how many survive the pre-score. A list of candidates is short for {policy: list, list: […]}.',
  );

// ---- The plan --------------------------------------------------------------------------------------------

/** The plan schema for a plan file at `place`: paths come out absolute, every default filled in. */
export function planFileSchema(place: PlanPlace) {
  const folder = dirname(resolve(place.file));
  const path = nonEmptyString().transform((text) => resolve(folder, text));

  const dataSource = dataSourceField(folder);

  const healSettingsSchema = strictObject({
    steps: boundedNumber({ integer: true, min: 1, max: 1e7 })
      .default(2000)
      .describe('Adam steps of distillation, one mini-batch each.'),
    batchSize: boundedNumber({ integer: true, min: 1, max: 65_536 })
      .default(128)
      .describe('Examples per mini-batch, at most 65 536 (a batch is held in memory).'),
    learningRate: boundedNumber({ above: 0, max: 1 })
      .default(1e-3)
      .describe(
        "Adam's step size. Adam moves every weight by about this much a step whatever the gradient, so a student that already matches its teacher drifts a little (KL ≈ 7·10⁻³ after 20 steps at 10⁻³ on a small MLP); 10⁻⁴ barely moved the split demo's model in 1000 steps.",
      ),
    temperature: boundedNumber({ above: 0 })
      .default(2)
      .describe('Softmax temperature T of teacher and student; the loss is KL · T².'),
    data: dataSource
      .optional()
      .describe(
        "The unlabelled examples to distil on (labels are not read): a data source. Default: statistics.data when given, else the first objective task's data (after its limit).",
      ),
    examples: boundedNumber({ integer: true, min: 1 })
      .optional()
      .describe('Use the first n examples of that data. Default: all of them.'),
    teacher: z
      .enum(['accepted', 'zoo'])
      .default('accepted')
      .describe(
        "Who teaches, besides the original base: accepted (the donors the steps accepted; nothing to learn when no step accepted one) or zoo (every zoo model the run loaded that has the base's classes: the logit ensemble baseline, whatever the loop took).",
      ),
  }).describe('Heal settings; every field has a default.');

  const zooMapping = strictObject({
    path: path.describe('The zoo folder (holding zoo.json).'),
    include: distinctList(zooId)
      .min(1, { error: 'must list at least one name' })
      .optional()
      .describe('Only these model ids, in this order. Default: every readable model.'),
    exclude: distinctList(zooId).default([]).describe('Never these model ids.'),
  }).superRefine((zoo, context) => {
    if (zoo.include === undefined) return;
    const both = zoo.exclude.findIndex((id) => zoo.include?.includes(id));
    if (both >= 0) {
      context.addIssue({
        code: 'custom',
        path: ['exclude', both],
        message: `'${zoo.exclude[both]}' is also in zoo.include`,
      });
    }
  });

  const taskSchema = strictObject({
    data: dataSource.describe(
      'A data source: fashion-mnist:train|val|test, mnist:train|test, an Arrow file (path ending in .arrow or .feather, or arrow:<path>).',
    ),
    metric: z
      .enum(['loss', 'accuracy'])
      .describe('loss, or accuracy (counted as −accuracy: lower is better).'),
    weight: boundedNumber({ above: 0 }).default(1).describe('The task weight in the objective; > 0.'),
    limit: boundedNumber({ integer: true, min: 1 })
      .optional()
      .describe('Evaluate on the first n examples only. Default: all.'),
    maxDrop: boundedNumber({ min: 0 })
      .optional()
      .describe(
        "The floor: how much worse than the original base this task may get, in the metric's units (loss may rise by at most this, accuracy fall by at most this). Default: no floor.",
      ),
    scoring: z
      .enum(['calibrated', 'raw'])
      .default('calibrated')
      .describe(
        "How every model the loop scores on this task (the base, each candidate at each λ) is measured. calibrated: after re-fitting its output biases on the task's data, so a transplant counts only for what it adds beyond correcting the class prior (which the final `calibrate` does anyway); raw: as it is.",
      ),
  }).describe('One task: a data source and a metric.');

  return strictObject({
    base: path.describe('The model to improve: a safetensors file or model folder.'),
    zoo: z
      .union([
        path.transform((zooPath): z.output<typeof zooMapping> => ({ path: zooPath, exclude: [] })),
        zooMapping,
      ])
      .describe('The zoo to take layers from: its folder (holding zoo.json), or {path, include, exclude}.'),
    objective: strictObject({
      tasks: z
        .array(taskSchema)
        .min(1, { error: 'must list at least one task' })
        .describe('At least one task.'),
    }).describe('What the assembly minimises: Σ weight · value over the tasks, value = loss or −accuracy.'),
    candidates: candidatePolicySchema,
    alignment: alignmentSettingsSchema.prefault({}),
    merge: z
      .preprocess(
        (raw, context) => {
          // MAL's `unmatched` in two places would leave one silently unused; other methods have none.
          if (typeof raw === 'object' && raw !== null && 'method' in raw && 'unmatched' in raw)
            context.addIssue({
              code: 'custom',
              path: ['unmatched'],
              message:
                "is MAL's parameter: with merge.method, give it there ({method: mal, unmatched: keep}); other methods have none",
              input: raw,
            });
          return raw;
        },
        strictObject({
          ...mergeSettingsShape,
          method: mergeMethodFieldSchema
            .optional()
            .describe(
              "The merge method and its parameters: a name ('slerp') or {method: ties, density: 0.3}. Default: MAL's interpolation with `unmatched`. Methods other than mal need equal widths after alignment; a candidate of other widths is recorded as failed.",
            ),
          ancestor: path
            .optional()
            .describe(
              "The common ancestor that task-vector methods (task-arithmetic, ties, dare-linear, dare-ties) measure against: a model with the base's tensors and shapes.",
            ),
        }).superRefine((merge, context) => {
          const method = merge.method?.method ?? 'mal';
          if (merge.regmean && method !== 'mal')
            context.addIssue({
              code: 'custom',
              path: ['regmean'],
              message: `RegMean re-solves the interpolation's dense layers, which method '${method}' does not make; use regmean: false or method mal`,
            });
          if (merge.donors > 1 && method !== 'mal')
            context.addIssue({
              code: 'custom',
              path: ['donors'],
              message: `several donors are summed linearly, which method '${method}' is not; use donors: 1 or method mal`,
            });
          const needsAncestor = mergeMethod(method).needsAncestor;
          if (needsAncestor && merge.ancestor === undefined)
            context.addIssue({
              code: 'custom',
              path: ['method'],
              message: `method '${method}' measures task vectors against a common ancestor: give merge.ancestor`,
            });
          if (!needsAncestor && merge.ancestor !== undefined)
            context.addIssue({
              code: 'custom',
              path: ['ancestor'],
              message: `method '${method}' reads no ancestor; only task-vector methods (task-arithmetic, ties, dare-linear, dare-ties) do`,
            });
        }),
      )
      .prefault({})
      .describe('How an aligned candidate is merged into the base: by default θ ← (1−λ)·θ + λ·T(θ_target).'),
    statistics: strictObject({
      data: dataSource
        .optional()
        .describe(
          "Unlabelled examples for activation statistics (alignment.match: activations, merge.repair: repair, merge.regmean); labels are not read. Default: the first objective task's data (after its limit).",
        ),
      examples: boundedNumber({ integer: true, min: 1 })
        .default(1024)
        .describe('Use the first n examples of that data.'),
    })
      .prefault({})
      .describe('The examples activation matching, REPAIR and RegMean measure unit statistics on.'),
    steps: boundedNumber({ integer: true, min: 0 }).default(5).describe('Most accepted steps.'),
    heal: z
      .union([z.boolean().transform((on) => (on ? healSettingsSchema.parse({}) : false)), healSettingsSchema])
      .default(false)
      .describe(
        'Heal (training, off by default): after the loop and the calibration, distil the logit ensemble of the original base and the accepted donors (calibrated on the objective data) into the assembled model for a bounded number of Adam steps on unlabelled examples, then re-fit its calibration. The healed model is written beside the training-free one as model-healed.safetensors and reported apart, as training. true: the defaults; false: off. The steps and the written model.safetensors do not change.',
      ),
    calibrate: z
      .enum(['none', ...CALIBRATION_KINDS])
      .default('biases')
      .describe(
        "Applied to the assembled model at the end, fitted on the objective tasks' data (weighted by task weight) to minimise their cross-entropy: biases (re-fit one shift per class of the output bias), temperature-biases (also divide the logits by a fitted temperature), or none. The written model is the calibrated one; the lineage keeps the training-free result too.",
      ),
    report: distinctList(dataSource)
      .default([])
      .describe(
        "Data sources evaluated only at the end, for the written model and every baseline (loss, accuracy); never used for any decision. Give held-out data here (e.g. fashion-mnist:test) to judge the run. A source that is also an objective task's data, statistics.data or heal.data is refused (compared as written, so keep held-out files apart).",
      ),
    seed: boundedNumber({ integer: true, min: 0, max: 0xffff_ffff })
      .default(0)
      .describe('Seed of every random choice (alignment order, probe examples); an integer in [0, 2^32).'),
    output: path
      .optional()
      .describe(
        'Where the assembled model, lineage, model card and report go. Default: <plan folder>/out/<plan file name without extension>.',
      ),
    data: strictObject({
      dataDir: path
        .optional()
        .describe(
          "The Fashion-MNIST IDX folder. Default: MAL_DATA_DIR, else Debian's /usr/share/datasets/fashion-mnist.",
        ),
    })
      .prefault({})
      .describe('Where data sets are found.'),
    backend: z
      .enum(BACKEND_PREFERENCES)
      .default('auto')
      .describe('TensorFlow.js backend preference (the --backend option overrides it).'),
  })
    .superRefine((plan, context) => {
      // Report data is evaluated only at the end and summaries say no decision saw it; a source the run also
      // chose steps, calibration, alignment or heal on would make that untrue and flatter every number on it.
      const sameSource = (a: string, b: string): boolean =>
        a.replace(/^arrow:/, '') === b.replace(/^arrow:/, '');
      const used: { source: string; field: string }[] = [
        ...plan.objective.tasks.map((t, i) => ({ source: t.data, field: `objective.tasks[${i}].data` })),
        ...(plan.statistics.data === undefined
          ? []
          : [{ source: plan.statistics.data, field: 'statistics.data' }]),
        ...(plan.heal === false || plan.heal.data === undefined
          ? []
          : [{ source: plan.heal.data, field: 'heal.data' }]),
      ];
      plan.report.forEach((source, i) => {
        const clash = used.find((u) => sameSource(u.source, source));
        if (clash !== undefined)
          context.addIssue({
            code: 'custom',
            path: ['report', i],
            message: `'${source}' is also ${clash.field}; report data must be held out from everything the run decides or trains on (give e.g. fashion-mnist:test, or drop it from report)`,
          });
      });
    })
    .transform(({ output, ...plan }) => ({
      file: place.file,
      ...plan,
      output: output ?? join(folder, 'out', planName(place.file)),
    }))
    .describe('An assembly plan for `mal assemble <plan.yaml>`.');
}

/** The plan's JSON Schema (draft 2020-12), for editors and `mal plan schema`: what a plan file may hold. */
export function planJsonSchema(): object {
  return {
    title: 'mal assembly plan',
    ...z.toJSONSchema(planFileSchema({ file: 'plan.yaml' }), { io: 'input' }),
  };
}
