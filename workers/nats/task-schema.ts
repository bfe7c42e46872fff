/**
 * Task messages come from peers on the bus, so a worker reads them as it reads a plan: the same schemas
 * (alignment settings, candidates, specs), with every number that drives an allocation bounded by what the message
 * itself can legitimately carry. The size is checked before the bytes are parsed at all.
 */
import { z } from 'zod';
import { alignmentSettingsSchema, listedCandidateSchema } from '../../src/assembly/plan-schema.js';
import { BACKEND_PREFERENCES } from '../../src/compute/backend-preference.js';
import { MalError } from '../../src/errors.js';
import { mergeMethodChoiceSchema } from '../../src/merge/merge-method-registry.js';
import type { ArchitectureSpec } from '../../src/spec/architecture-spec.js';
import { serializeSpec } from '../../src/spec/spec-file.js';
import { specFileSchema } from '../../src/spec/spec-schema.js';
import { checkSpecStructure } from '../../src/spec/spec-structure.js';
import { hashOf } from '../../src/store/content-store.js';
import { BadTaskError } from './nats-errors.js';
import { TASK_KINDS } from './task-kinds.js';

/**
 * The largest task message read. A task names tensors by hash and carries a spec; the spec of a large transformer
 * is tens of kilobytes, so 4 MiB is generous, and it keeps a hostile message from costing more than that to parse.
 */
export const MAX_TASK_MESSAGE_BYTES = 4 * 1024 * 1024;

/** Names (tensors, spaces, config keys) and data sources are short; a longer one is not from a real model. */
const MAX_NAME = 1024;

/** A task's key: hex sha256, which also keeps it to what a KV key may be (no '.', '*' or '>' tricks). */
export const TASK_KEY_PATTERN = /^[0-9a-f]{64}$/;

const backendSchema = z.enum(BACKEND_PREFERENCES.filter((b) => b !== 'auto') as ['wasm', ...string[]]);

const nameSchema = z.string().min(1).max(MAX_NAME);

const hashSchema = z
  .string()
  .regex(TASK_KEY_PATTERN, { error: 'expected a hex sha256 (64 lowercase hex digits)' });

const tensorRefSchema = z.strictObject({ name: nameSchema, hash: hashSchema });

/** Each tensor at most once: a repeated name would have the worker pack the same blob again and again. */
const tensorRefsSchema = z.array(tensorRefSchema).superRefine((refs, context) => {
  const seen = new Set<string>();
  refs.forEach((ref, index) => {
    if (seen.has(ref.name))
      context.addIssue({
        code: 'custom',
        path: [index, 'name'],
        message: `tensor '${ref.name}' is listed twice`,
      });
    seen.add(ref.name);
  });
});

/**
 * A spec travels in the engine's own form (its tensor order matters to sums, and a spec file's tensor mapping would
 * lose it to the canonical key order). Its shape is checked here, then everything a spec file is checked for, by
 * the spec file's own schema on the same spec written as a spec file, and the structure checks.
 */
const innerLevelSchema = z.strictObject({
  space: nameSchema.optional(),
  size: z.number().int().min(1).max(1_000_000),
});
const axisPartSchema = z.strictObject({
  space: nameSchema,
  block: z.number().int().min(0).max(1_000_000),
  // A transformer's heads: the dims inside each head, the query heads of one kv group.
  inner: z.array(innerLevelSchema).min(1).max(8).optional(),
});
const specSchema = z
  .strictObject({
    family: z.string(),
    spaces: z.array(
      z.strictObject({
        name: nameSchema,
        kind: z.enum(['free', 'fixed']),
        role: z.string().optional(),
        parent: nameSchema.optional(),
      }),
    ),
    tensors: z.array(
      z.strictObject({
        name: nameSchema,
        axes: z.array(z.array(axisPartSchema).nullable()),
        merge: z.boolean(),
      }),
    ),
    layers: z.array(
      z.strictObject({
        name: nameSchema,
        kind: z.string(),
        tensors: z.array(nameSchema),
        input: nameSchema.nullable(),
        output: nameSchema.nullable(),
      }),
    ),
    attributes: z.record(z.string().max(MAX_NAME), z.union([z.string().max(MAX_NAME), z.number()])),
  })
  .transform((raw, context): ArchitectureSpec => {
    const spec = raw as ArchitectureSpec;
    try {
      const asFile = specFileSchema.safeParse(JSON.parse(serializeSpec(spec)));
      if (!asFile.success) {
        const issue = asFile.error.issues[0];
        context.addIssue({ code: 'custom', path: issue.path, message: issue.message, input: raw });
        return z.NEVER;
      }
      checkSpecStructure(spec);
    } catch (error) {
      if (!(error instanceof MalError)) throw error;
      context.addIssue({ code: 'custom', message: error.message, input: raw });
      return z.NEVER;
    }
    return spec;
  });

const batchEnd = (batch: { start: number; end: number | null }) =>
  batch.end === null || batch.end >= batch.start;
const batchEndRule = { error: 'end must be null or ≥ start', path: ['end'] };

/** Token ids are exact in float32 below 2²⁴, so no vocabulary is larger. */
const MAX_VOCABULARY = 2 ** 24;

/** Token sequences by hash; the worker checks their shape and that every id is below the vocabulary. */
const tokenSequencesSchema = z.strictObject({
  tokens: hashSchema,
  tokenizer: z
    .string()
    .min(1)
    .max(4 * MAX_NAME),
  vocabulary: z.number().int().min(1).max(MAX_VOCABULARY),
});

const labelledBatchSchema = z
  .strictObject({
    source: nameSchema,
    layout: z.enum(['flat', 'image']),
    start: z.number().int().min(0),
    end: z.number().int().min(0).nullable(),
  })
  .refine(batchEnd, batchEndRule);

const tokenBatchSchema = z
  .strictObject({
    text: tokenSequencesSchema,
    name: nameSchema,
    start: z.number().int().min(0),
    end: z.number().int().min(0).nullable(),
  })
  .refine(batchEnd, batchEndRule);

/**
 * Labelled examples by source, or token sequences by hash: the batch's `text` says which, so a refusal names the
 * field of that kind (a plain union would only say that neither kind matched).
 */
const dataBatchSchema = z
  .unknown()
  .transform((raw, context): z.output<typeof labelledBatchSchema> | z.output<typeof tokenBatchSchema> => {
    const tokens = typeof raw === 'object' && raw !== null && 'text' in raw;
    const parsed = (tokens ? tokenBatchSchema : labelledBatchSchema).safeParse(raw);
    if (!parsed.success) {
      for (const issue of parsed.error.issues)
        context.addIssue({ code: 'custom', path: issue.path, message: issue.message, input: raw });
      return z.NEVER;
    }
    return parsed.data;
  });

const forwardConfigSchema = z.record(
  z.string().max(MAX_NAME),
  z.union([z.string().max(MAX_NAME), z.number().refine(Number.isFinite, 'must be finite')]),
);

const evaluateSchema = z.strictObject({
  kind: z.literal('evaluate'),
  backend: backendSchema,
  spec: specSchema,
  config: forwardConfigSchema,
  batchSize: z.number().int().min(1).max(1_000_000).nullable(),
  scoring: z.enum(['raw', 'biases', 'temperature-biases']),
  tensors: tensorRefsSchema,
  data: dataBatchSchema,
});

const alignModelSchema = z.strictObject({
  spec: specSchema,
  // Widths are checked again against the fetched tensors' shapes before anything is sized by them.
  widths: z.array(
    z.tuple([
      nameSchema,
      z
        .number()
        .int()
        .min(1)
        .max(2 ** 31 - 1),
    ]),
  ),
  tensors: tensorRefsSchema,
  config: forwardConfigSchema.optional(),
});

const statisticsExamplesSchema = z.strictObject({ backend: backendSchema, features: hashSchema });

const alignSchema = z.strictObject({
  kind: z.literal('align'),
  base: alignModelSchema,
  zoo: alignModelSchema,
  candidate: listedCandidateSchema,
  settings: alignmentSettingsSchema,
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 32 - 1),
  statistics: statisticsExamplesSchema.optional(),
});

const noopSchema = z.strictObject({
  kind: z.literal('noop'),
  tensors: tensorRefsSchema,
  nonce: z.string().max(MAX_NAME),
});

const curveSchema = z.strictObject({
  kind: z.literal('curve'),
  backend: backendSchema,
  base: alignModelSchema,
  zoo: alignModelSchema,
  candidate: listedCandidateSchema,
  maps: hashSchema,
  kernel: z.enum(['incompatible', 'centre']),
  method: mergeMethodChoiceSchema,
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 32 - 1),
  // A plan's grid is at most a few hundred points; each is a merge and an evaluation.
  lambdas: z.array(z.number().min(0).max(1)).min(1).max(1000),
  config: forwardConfigSchema,
  batchSize: z.number().int().min(1).max(1_000_000).nullable(),
  scoring: z.enum(['raw', 'biases', 'temperature-biases']),
  data: dataBatchSchema,
  regmean: hashSchema.optional(),
});

/** A study cell's model info: what the table says about it; the sha256 is part of the cell's address. */
const studyModelInfoSchema = z.strictObject({
  id: nameSchema,
  sha256: hashSchema,
  family: nameSchema,
  arch: nameSchema,
  depth: z.number().int().min(0).max(1_000_000),
  data: nameSchema,
  domain: nameSchema,
});

const layerListSchema = z.array(nameSchema).min(1).max(10_000);

/** Bounds what a cell may make a worker compute: the λ grid's points, the examples evaluated. */
const MAX_GRID_POINTS = 1001;
const MAX_EVAL_EXAMPLES = 10_000_000;

const studyCellSchema = z
  .strictObject({
    base: studyModelInfoSchema,
    target: studyModelInfoSchema,
    position: z.union([
      z.enum(['first', 'middle', 'last', 'all']),
      z.templateLiteral(['layer-', z.number().int().min(0)]),
    ]),
    baseLayers: layerListSchema,
    targetLayers: layerListSchema,
    aligned: z.boolean(),
    alignment: alignmentSettingsSchema.refine((a) => a.match === 'weights', {
      error: 'a study cell aligns by weights only (it carries no examples for activation matching)',
    }),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 32 - 1),
    evalData: nameSchema,
    evalLimit: z.number().int().min(1).max(MAX_EVAL_EXAMPLES),
    batchSize: z.number().int().min(1).max(1_000_000),
    grid: z.array(z.number().min(0).max(1)).min(2).max(MAX_GRID_POINTS),
    epsilonFraction: z.number().min(0).refine(Number.isFinite, 'must be finite'),
    unmatched: z.enum(['zero', 'keep']),
    backend: backendSchema,
  })
  .refine((cell) => cell.baseLayers.length === cell.targetLayers.length, {
    error: 'baseLayers and targetLayers must have the same length',
    path: ['targetLayers'],
  });

const studyCellModelSchema = z.strictObject({
  spec: specSchema,
  config: forwardConfigSchema,
  tensors: tensorRefsSchema,
});

const studyCellTaskSchema = z.strictObject({
  kind: z.literal('study-cell'),
  cell: studyCellSchema,
  base: studyCellModelSchema,
  target: studyCellModelSchema,
  text: tokenSequencesSchema.optional(),
});

const int32Count = z
  .number()
  .int()
  .min(0)
  .max(2 ** 31 - 1);

/** Inline index arrays are bounded by the message; the worker checks each decodes to `length` int32s. */
const indexArraySchema = z.union([
  z.strictObject({ length: int32Count, base64: z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/) }),
  z.strictObject({ length: int32Count, blob: hashSchema }),
]);

/**
 * An occurrence: every number is checked again against the fetched tensors' shapes (checkOccurrenceFits) before
 * anything is sized by it; tensors are at most rank 8 here (convolutions are rank 4).
 */
const occurrenceSchema = z.strictObject({
  key: z
    .string()
    .min(1)
    .max(4 * MAX_NAME),
  baseName: nameSchema,
  targetName: nameSchema,
  axis: z.number().int().min(0).max(7),
  baseOffset: int32Count,
  baseLength: int32Count,
  targetIndices: z.array(indexArraySchema).min(1).max(8),
  rows: int32Count.min(1),
  cols: int32Count.min(1),
  wholeMatrix: z.boolean(),
});

const costProductSchema = z.strictObject({
  kind: z.literal('cost-product'),
  occurrence: occurrenceSchema,
  base: hashSchema,
  target: hashSchema,
  nonce: z.string().max(MAX_NAME),
});

const taskSchema = z.discriminatedUnion('kind', [
  evaluateSchema,
  alignSchema,
  noopSchema,
  curveSchema,
  studyCellTaskSchema,
  costProductSchema,
]);

export type ValidTask = z.output<typeof taskSchema>;
export type ValidEvaluateTask = z.output<typeof evaluateSchema>;
export type ValidAlignTask = z.output<typeof alignSchema>;
export type ValidStudyCellTask = z.output<typeof studyCellTaskSchema>;
export type ValidCurveTask = z.output<typeof curveSchema>;
export type ValidCostProductTask = z.output<typeof costProductSchema>;

/** A task message that passed every check: its key is the hash of the task exactly as it was sent. */
export interface ValidEnvelope {
  readonly key: string;
  readonly task: ValidTask;
}

const KINDS = new Set<string>(TASK_KINDS);

/**
 * Reads a task message. A key is only ever reported (and so a failure only ever recorded under it) once it is the
 * hash of the task the message carries: a message cannot name another task's key and have its error land there.
 */
export function decodeTaskMessage(bytes: Uint8Array): ValidEnvelope {
  if (bytes.byteLength > MAX_TASK_MESSAGE_BYTES) {
    throw new BadTaskError(
      `task message of ${bytes.byteLength} bytes is larger than the ${MAX_TASK_MESSAGE_BYTES} a task may be`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    throw new BadTaskError(`task message is not JSON: ${(error as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new BadTaskError('task message is not a JSON object');
  }
  const { key, task, ...rest } = parsed as Record<string, unknown>;
  if (typeof key !== 'string' || !TASK_KEY_PATTERN.test(key)) {
    throw new BadTaskError('task message has no key (a hex sha256)');
  }
  const extra = Object.keys(rest);
  if (extra.length > 0) throw new BadTaskError(`task message ${key}: unknown field '${extra[0]}'`);
  if (task === null || typeof task !== 'object' || Array.isArray(task)) {
    throw new BadTaskError(`task message ${key}: no task object`);
  }
  const kind = (task as Record<string, unknown>).kind;
  if (typeof kind !== 'string' || !KINDS.has(kind)) {
    throw new BadTaskError(`task message ${key}: unknown kind ${JSON.stringify(kind)}`);
  }
  let verified: boolean;
  try {
    verified = hashOf(task) === key;
  } catch (error) {
    // canonicalJson refuses what JSON cannot round-trip; deep nesting can exhaust the stack.
    throw new BadTaskError(`task message ${key}: the task cannot be hashed: ${(error as Error).message}`);
  }
  if (!verified) throw new BadTaskError(`task message ${key}: key is not the hash of the task it carries`);
  const result = taskSchema.safeParse(task);
  if (!result.success) {
    const issue = result.error.issues[0];
    const path = issue.path.length === 0 ? 'task' : `task.${issue.path.map(String).join('.')}`;
    throw new BadTaskError(`task ${key} (${kind}): ${path}: ${issue.message}`, key);
  }
  return { key, task: result.data };
}
