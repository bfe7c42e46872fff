import { basename, dirname, extname, join, resolve } from 'node:path';
import { z } from 'zod';
import { alignmentSettingsSchema } from '../assembly/plan-schema.js';
import { BACKEND_PREFERENCES } from '../compute/backend.js';
import { MalError } from '../errors.js';
import { parseLambdaGrid } from '../eval/lambda-grid.js';
import type { UnmatchedPolicy } from '../merge/mal-interpolation.js';
import { dataSourceField } from '../schema/data-source-field.js';
import type { DeepReadonly } from '../schema/schema-kit.js';
import { boundedNumber, distinctList, nonEmptyString, strictObject } from '../schema/schema-kit.js';
import { isValidZooId } from '../zoo/zoo-manifest.js';

/*
 * The study file of `mal study <study.yaml>` (YAML, or JSON with the same structure), as one zod schema: its
 * types, defaults and checks, and the JSON Schema editors read (docs/schema/study.schema.json). Every description
 * is user documentation. Relative paths are relative to the study file's folder; unknown keys are errors.
 */

/** Where the study file lies: relative paths resolve against its folder, the default output is named after it. */
export interface StudyPlace {
  readonly file: string;
}

const STUDY_EXTENSIONS = ['.yaml', '.yml', '.json'];

/** The study file's name without its extension: the study's title and default output folder's name. */
export function studyName(file: string): string {
  const name = basename(file);
  const extension = extname(name);
  return STUDY_EXTENSIONS.includes(extension.toLowerCase()) ? name.slice(0, -extension.length) : name;
}

/** What a position list may hold: the paper's three, every layer, or the whole model. */
export const POSITION_CHOICES = ['first', 'middle', 'last', 'each', 'all'] as const;
export type PositionChoice = (typeof POSITION_CHOICES)[number];

export const ALIGNMENT_CHOICES = ['aligned', 'naive'] as const;

const name = nonEmptyString().refine(isValidZooId, {
  error: (issue) => `must be letters, digits, '.', '_' or '-' (not first), got '${String(issue.input)}'`,
});

const lambdaGrid = z
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

export function studyFileSchema(place: StudyPlace) {
  const folder = dirname(resolve(place.file));
  const path = nonEmptyString().transform((text) => resolve(folder, text));
  const dataSource = dataSourceField(folder);

  const datasetSchema = strictObject({
    name: name.describe('The name the zoo grid, the table and the report use for this data (e.g. fmnist).'),
    train: dataSource.describe(
      'The training data source (fashion-mnist:train, mnist:train, an Arrow file, or text for language models: fortunes:en:train, text:<file>). A zoo model whose manifest `dataset` is this source was trained on this data.',
    ),
    eval: dataSource.describe(
      "Where a merged model is evaluated when this is its BASE's data: a held-out source (fashion-mnist:test).",
    ),
    domain: name
      .optional()
      .describe(
        'Data of one domain: two data sets of the same domain (a class-biased split and the full set, or two splits) are a `split` relation, different domains `different`. Default: the name.',
      ),
  })
    .transform((d) => ({ ...d, domain: d.domain ?? d.name }))
    .describe('One data set of the study.');

  const trainGridSchema = strictObject({
    arch: z.enum(['mlp', 'cnn']).default('mlp').describe('The family every grid model has.'),
    widths: z
      .array(boundedNumber({ integer: true, min: 1, max: 65536 }))
      .min(1, { error: 'must list at least one width' })
      .describe('Hidden widths (MLP units, CNN channels); every hidden layer of a model has the same width.'),
    depths: z
      .array(boundedNumber({ integer: true, min: 1, max: 64 }))
      .min(1, { error: 'must list at least one depth' })
      .describe('Numbers of hidden layers.'),
    datasets: distinctList(name)
      .min(1, { error: 'must list at least one data set' })
      .describe('Names from `datasets` to train on: one model per width × depth × data set × seed.'),
    seeds: z
      .array(boundedNumber({ integer: true, min: 0, max: 0xffff_ffff }))
      .min(1, { error: 'must list at least one seed' })
      .default([1])
      .describe(
        'Replicas: one model per seed. Each model trains with a seed drawn from its id, so no two models share an initialization.',
      ),
    epochs: boundedNumber({ integer: true, min: 1 }).default(1).describe('Training epochs.'),
    limit: boundedNumber({ integer: true, min: 1 })
      .optional()
      .describe('Train on the first n examples only. Default: all.'),
    evalLimit: boundedNumber({ integer: true, min: 1 })
      .default(1000)
      .describe("Examples of each data set's eval source the zoo records a trained model's metrics on."),
    batchSize: boundedNumber({ integer: true, min: 1 })
      .optional()
      .describe("Training batch size. Default: the trainer's."),
    learningRate: boundedNumber({ above: 0 }).optional().describe("Learning rate. Default: the trainer's."),
  }).describe(
    'Train the zoo: every model of the grid is trained into `zoo.folder` with `mal zoo train`, unless a model of that id and options is there already (so a killed study resumes its training too).',
  );

  const zooSchema = strictObject({
    folder: path.describe('The zoo folder (holding zoo.json); created when `train` is given.'),
    models: distinctList(name)
      .min(1, { error: 'must list at least one model' })
      .optional()
      .describe('Only these model ids of the zoo. Default: every readable model (or, with train, the grid).'),
    train: trainGridSchema.optional(),
  })
    .superRefine((zoo, context) => {
      if (zoo.train !== undefined && zoo.models !== undefined)
        context.addIssue({
          code: 'custom',
          path: ['models'],
          message: 'with zoo.train the study uses the grid it trains; leave models out',
        });
    })
    .describe("The zoo: an existing folder's models, or a grid trained into the folder.");

  const pairsSchema = z
    .union([
      z.literal('all'),
      strictObject({
        sample: boundedNumber({ integer: true, min: 1 }).describe('How many ordered pairs to draw.'),
        seed: boundedNumber({ integer: true, min: 0, max: 0xffff_ffff })
          .default(0)
          .describe('Seed of the draw.'),
      }),
    ])
    .default('all')
    .describe(
      'Which ordered (base, target) pairs of distinct models: all, or {sample: n, seed} (n drawn without repeats, the same n for the same seed).',
    );

  return strictObject({
    title: nonEmptyString().optional().describe("The report's title. Default: the study file's name."),
    datasets: z
      .array(datasetSchema)
      .min(1, { error: 'must list at least one data set' })
      .describe('The data sets the zoo was trained on, by name.'),
    zoo: zooSchema,
    pairs: pairsSchema,
    positions: distinctList(z.enum(POSITION_CHOICES))
      .min(1, { error: 'must list at least one position' })
      .default(['first', 'middle', 'last'])
      .describe(
        "Which base layers are replaced: first, middle, last (the target's layer at the nearest relative depth), each (every base layer, `layer-<i>`), all (the whole model, when both have the same layer kinds in the same order).",
      ),
    alignment: distinctList(z.enum(ALIGNMENT_CHOICES))
      .min(1, { error: 'must list at least one of aligned, naive' })
      .default(['aligned', 'naive'])
      .describe(
        'aligned: weight matching before interpolating; naive: identity maps (truncated or zero-padded).',
      ),
    matching: alignmentSettingsSchema
      .prefault({})
      .superRefine((settings, context) => {
        if (settings.match !== 'weights')
          context.addIssue({
            code: 'custom',
            path: ['match'],
            message:
              'a study aligns by weights only (activation matching needs examples a cell does not carry)',
          });
      })
      .describe("Options of the weight matching of aligned cells (the plan's `alignment` options)."),
    evaluate: strictObject({
      limit: boundedNumber({ integer: true, min: 1 })
        .default(1000)
        .describe("Evaluate on the first n examples of the base's eval source."),
      batchSize: boundedNumber({ integer: true, min: 1 }).default(500).describe('Evaluation batch size.'),
    })
      .prefault({})
      .describe("How merged models are evaluated: on the base's data set's eval source."),
    grid: lambdaGrid
      .default(parseLambdaGrid('0:0.1:1'))
      .describe("The λ grid: 'start:step:end' or a list, from 0 to 1."),
    epsilon: boundedNumber({ min: 0 })
      .default(0.01)
      .describe('ε of the merge-factor threshold λ*, as a fraction of L(0).'),
    unmatched: z
      .enum(['zero', 'keep'] as const satisfies readonly UnmatchedPolicy[])
      .default('zero')
      .describe('Base entries no target unit lands on: zero, or keep the base values.'),
    seed: boundedNumber({ integer: true, min: 0, max: 0xffff_ffff })
      .default(0)
      .describe('Seed of the weight matching.'),
    out: path
      .optional()
      .describe('The output folder. Default: <study folder>/out/<study file name without extension>.'),
    data: strictObject({
      dataDir: path
        .optional()
        .describe('The Fashion-MNIST IDX folder. Default: MAL_DATA_DIR, else the Debian package.'),
    })
      .prefault({})
      .describe('Where data sets are found.'),
    backend: z
      .enum(BACKEND_PREFERENCES)
      .default('auto')
      .describe('TensorFlow.js backend preference (the --backend option overrides it).'),
  })
    .superRefine((study, context) => {
      const names = new Set<string>();
      study.datasets.forEach((d, i) => {
        if (names.has(d.name))
          context.addIssue({
            code: 'custom',
            path: ['datasets', i, 'name'],
            message: `'${d.name}' is listed twice`,
          });
        names.add(d.name);
      });
      study.zoo.train?.datasets.forEach((d, i) => {
        if (!names.has(d))
          context.addIssue({
            code: 'custom',
            path: ['zoo', 'train', 'datasets', i],
            message: `'${d}' is not a name of datasets (${[...names].join(', ')})`,
          });
      });
    })
    .transform(({ out, title, ...study }) => ({
      file: place.file,
      title: title ?? studyName(place.file),
      ...study,
      out: out ?? join(folder, 'out', studyName(place.file)),
    }))
    .describe('A study for `mal study <study.yaml>`: how well transplanted layers connect, over a zoo.');
}

export type Study = DeepReadonly<z.output<ReturnType<typeof studyFileSchema>>>;
export type StudyDataset = Study['datasets'][number];
export type StudyTrainGrid = NonNullable<Study['zoo']['train']>;

/** The study file's JSON Schema (draft 2020-12), for editors. */
export function studyJsonSchema(): object {
  return {
    title: 'mal study',
    ...z.toJSONSchema(studyFileSchema({ file: 'study.yaml' }), { io: 'input' }),
  };
}
