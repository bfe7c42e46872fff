import { z } from 'zod';
import { nonEmptyString, strictObject } from '../schema/schema-kit.js';
import type {
  ArchitectureFamily,
  ArchitectureSpec,
  AxisPart,
  AxisSpec,
  LayerKind,
  SpaceKind,
} from './architecture-spec.js';

/*
 * The spec file (a hand-written architecture spec, JSON or YAML with the same structure) as one zod schema: its
 * checks, the written form's type (SpecFile), the JSON Schema editors read (docs/schema/spec.schema.json), and
 * the transform to the ArchitectureSpec the code works with (architecture-spec.ts). Example:
 *
 *   family: custom
 *   spaces: [{name: input, kind: fixed, role: input}, {name: h1, kind: free}, {name: heads, kind: free}]
 *   tensors:
 *     fc1.weight: [h1, input]                                   # an axis is a space name,
 *     conv.weight: [c1, input, null, null]                      # null (no space: spatial axes),
 *     attn.c_attn.weight: [res, [heads*64, heads*64, heads*64]] # or a list of parts "space*block"
 *     bn.num_batches_tracked: {axes: [], merge: false}
 *   layers:
 *     - {name: fc1, kind: dense, tensors: [fc1.weight, fc1.bias], input: input, output: h1}
 *   attributes: {activation: relu}
 */

/** The values of a union type, each once: the compiler checks the list against the type. */
function choices<T extends string>(values: { [K in T]: K }, what: string) {
  const names = Object.keys(values);
  return z.enum(values, {
    error: (issue) =>
      typeof issue.input === 'string'
        ? `'${issue.input}' is not ${what} (expected one of ${names.join(', ')})`
        : `expected ${what}, got ${JSON.stringify(issue.input) ?? 'nothing'}`,
  });
}

export const architectureFamilySchema = choices<ArchitectureFamily>(
  { mlp: 'mlp', cnn: 'cnn', resnet: 'resnet', gpt2: 'gpt2', llama: 'llama', custom: 'custom' },
  'an architecture family',
);
const spaceKindSchema = choices<SpaceKind>({ free: 'free', fixed: 'fixed' }, 'a space kind');
const layerKindSchema = choices<LayerKind>(
  {
    dense: 'dense',
    conv: 'conv',
    batchnorm: 'batchnorm',
    norm: 'norm',
    embedding: 'embedding',
    attention: 'attention',
    other: 'other',
  },
  'a layer kind',
);

const PART_WITH_BLOCK = /^(.+)\*(\d+)$/;

/** `space` or `space*block` → its space and block. */
function splitPart(text: string): { space: string; block: number } {
  const withBlock = PART_WITH_BLOCK.exec(text);
  return withBlock === null
    ? { space: text, block: 1 }
    : { space: withBlock[1], block: Number(withBlock[2]) };
}

const textPartSchema = nonEmptyString()
  .refine((text) => splitPart(text).block >= 1, {
    error: (issue) => `block of '${String(issue.input)}' must be a positive integer`,
  })
  .describe("A space name, or 'space*block': each unit of the space spans `block` consecutive entries.");

const innerLevelSchema = strictObject({
  space: nonEmptyString()
    .optional()
    .describe('A nested space (declared with this part as parent) that reorders this level; absent: fixed.'),
  size: z.number().int().min(1).describe('Entries of the level (for a nested space: its width).'),
});

const nestedPartSchema = strictObject({
  space: nonEmptyString().describe('The space whose units own the blocks.'),
  inner: z
    .array(innerLevelSchema)
    .min(1)
    .describe(
      "The structure of each unit's block, outer level first; the block is the product of the sizes.",
    ),
}).describe('A part whose blocks have inner structure: e.g. a head of query heads and value dims.');

const partSchema = z.union([textPartSchema, nestedPartSchema]);

type PartInput = z.output<typeof partSchema>;

function partSpace(part: PartInput): string {
  return typeof part === 'string' ? splitPart(part).space : part.space;
}

function toPart(part: PartInput): AxisPart {
  if (typeof part === 'string') return splitPart(part);
  const block = part.inner.reduce((n, level) => n * level.size, 1);
  return { space: part.space, block, inner: part.inner };
}

const axisSchema = z
  .union(
    [
      z.null(),
      partSchema,
      z
        .array(partSchema)
        .min(1, { error: 'an axis needs at least one part; use null for an axis without a space' }),
    ],
    { error: "expected a space name, 'space*block', {space, inner}, a list of them, or null" },
  )
  .describe(
    'One tensor axis: null (no space, e.g. a spatial axis), a part, or the list of its parts in order.',
  );

const axesSchema = z.array(axisSchema).describe('The axes of the tensor, in order.');

const spaceSchema = strictObject({
  name: nonEmptyString()
    .refine((name) => !name.includes('*'), {
      error: (issue) =>
        `space name '${String(issue.input)}' contains '*', which separates a space from its block`,
    })
    .describe('The space name, unique in the spec.'),
  kind: spaceKindSchema.describe(
    'free: any permutation of its units leaves the function unchanged; fixed: identity only (inputs, classes).',
  ),
  role: nonEmptyString()
    .optional()
    .describe('What the units are, for people: hidden, channels, residual, heads, input, output, vocab.'),
  parent: nonEmptyString()
    .optional()
    .describe('For a nested space: the space inside each of whose units it lives, permuted per parent unit.'),
}).describe('A unit space: the units a permutation may reorder.');

const tensorSchema = z
  .union([
    axesSchema,
    strictObject({
      axes: axesSchema,
      merge: z
        .boolean()
        .default(true)
        .describe('false for buffers copied from the base and never merged (num_batches_tracked, masks).'),
    }),
  ])
  .describe('The axes of a tensor, or {axes, merge}.');

const layerSchema = strictObject({
  name: nonEmptyString().describe('The layer name, unique in the spec.'),
  kind: layerKindSchema.describe(
    'What the layer computes: dense, conv, batchnorm, norm, embedding, attention or other.',
  ),
  tensors: z
    .array(nonEmptyString())
    .describe('The tensors of the layer; a tensor belongs to at most one layer.'),
  input: nonEmptyString()
    .nullable()
    .default(null)
    .describe('The space the layer reads (for norms: the space it normalizes), or null.'),
  output: nonEmptyString().nullable().default(null).describe('The space the layer writes, or null.'),
}).describe('The tensors that carry one computation from one space to another: the unit a transplant moves.');

const specFileFields = strictObject({
  family: architectureFamilySchema.default('custom').describe('The architecture family.'),
  spaces: z.array(spaceSchema).describe('The unit spaces, in network order (input side first).'),
  tensors: z
    .record(z.string(), tensorSchema, { error: 'expected a mapping from tensor name to its axes' })
    .describe('Every tensor of the model, in file order: tensor name → its axes.'),
  layers: z.array(layerSchema).default([]).describe('The layers, in network order.'),
  attributes: z
    .record(z.string(), z.union([z.string(), z.number()], { error: 'expected a string or a number' }))
    .default({})
    .describe(
      'Facts the forward pass and reports need (activation, attention heads, norm epsilon): strings or numbers.',
    ),
});

type SpecFileFields = z.output<typeof specFileFields>;

/** Cross-references: names declared once, every space and tensor referred to declared, a tensor in one layer. */
function checkReferences(spec: SpecFileFields, context: z.RefinementCtx): void {
  const fail = (path: PropertyKey[], message: string) => context.addIssue({ code: 'custom', path, message });
  const spaces = new Set<string>();
  spec.spaces.forEach((space, index) => {
    if (spaces.has(space.name)) fail(['spaces', index, 'name'], `space '${space.name}' is declared twice`);
    spaces.add(space.name);
  });
  const checkSpace = (space: string, path: PropertyKey[]) => {
    if (!spaces.has(space)) fail(path, `unknown space '${space}'`);
  };
  for (const [name, tensor] of Object.entries(spec.tensors)) {
    const path = Array.isArray(tensor) ? ['tensors', name] : ['tensors', name, 'axes'];
    const axes = Array.isArray(tensor) ? tensor : tensor.axes;
    axes.forEach((axis, axisIndex) => {
      if (axis === null) return;
      if (!Array.isArray(axis)) checkSpace(partSpace(axis), [...path, axisIndex]);
      else {
        for (const [partIndex, part] of axis.entries()) {
          checkSpace(partSpace(part), [...path, axisIndex, partIndex]);
          if (typeof part !== 'string') {
            part.inner.forEach((level, levelIndex) => {
              if (level.space !== undefined)
                checkSpace(level.space, [...path, axisIndex, partIndex, 'inner', levelIndex, 'space']);
            });
          }
        }
      }
    });
  }
  const layers = new Set<string>();
  const layerOfTensor = new Map<string, string>();
  spec.layers.forEach((layer, index) => {
    if (layers.has(layer.name)) fail(['layers', index, 'name'], `layer '${layer.name}' is declared twice`);
    layers.add(layer.name);
    layer.tensors.forEach((tensor, tensorIndex) => {
      const path = ['layers', index, 'tensors', tensorIndex];
      const owner = layerOfTensor.get(tensor);
      if (!Object.hasOwn(spec.tensors, tensor)) fail(path, `unknown tensor '${tensor}'`);
      else if (owner !== undefined) fail(path, `tensor '${tensor}' already belongs to layer '${owner}'`);
      layerOfTensor.set(tensor, layer.name);
    });
    if (layer.input !== null) checkSpace(layer.input, ['layers', index, 'input']);
    if (layer.output !== null) checkSpace(layer.output, ['layers', index, 'output']);
  });
}

function toAxis(axis: PartInput | PartInput[] | null): AxisSpec {
  if (axis === null) return null;
  return (Array.isArray(axis) ? axis : [axis]).map(toPart);
}

function toArchitectureSpec(spec: SpecFileFields): ArchitectureSpec {
  return {
    family: spec.family,
    spaces: spec.spaces,
    tensors: Object.entries(spec.tensors).map(([name, tensor]) =>
      Array.isArray(tensor)
        ? { name, axes: tensor.map(toAxis), merge: true }
        : { name, axes: tensor.axes.map(toAxis), merge: tensor.merge },
    ),
    layers: spec.layers,
    attributes: spec.attributes,
  };
}

/** A spec file, checked and read into an ArchitectureSpec. */
export const specFileSchema = specFileFields
  .superRefine(checkReferences)
  .transform(toArchitectureSpec)
  .describe('An architecture spec: for every axis of every tensor of a model, the unit space it belongs to.');

/** A spec file as written (what the JSON Schema describes). */
export type SpecFile = z.input<typeof specFileSchema>;

/** The spec file's JSON Schema (draft 2020-12), for editors. */
export function specJsonSchema(): object {
  return { title: 'mal architecture spec', ...z.toJSONSchema(specFileSchema, { io: 'input' }) };
}
