import { z } from 'zod';

/**
 * An architecture family as data, after mergekit's architecture files: which tensor names a model of the family
 * has, layer by layer, and for every axis of every tensor the unit space it belongs to.
 *
 * Names are templates. `{i}` stands for a block's number; a transformer's block tensors are written in full
 * (`h.{i}.attn.c_attn.weight`) and a model may put `prefix` before every name (`transformer.`). A space named
 * with `{i}` is one per block (`h.{i}.mlp`), any other is shared by the whole model (`residual`).
 *
 * An axis is written as in a spec file: a space key, `key*block` for units spanning a block of entries (`head`:
 * a head's `head_dim` entries; `group`: the `num_heads / num_kv_heads` query heads that share one kv head), and
 * parts joined by `|` for a fused axis (GPT-2's q|k|v). `key[sub:size,size]` gives a unit's block inner levels,
 * outer first: `sub:size` a nested space (declared with `parent: key`) of `size` units permuted per unit of
 * `key`, a bare `size` a level that keeps its order (`groupHeads`: the `num_heads / num_kv_heads` query heads of
 * one group). A tensor key ending in `?` is optional, and `buffer` marks a tensor that is copied from the base
 * and never merged (a causal mask).
 */

const configKeys = z.array(z.string()).min(1);
const SIZE = '(head|group|groupHeads|\\d+)';
const LEVEL = `(\\w+:)?${SIZE}`;
const PART = `\\w+(\\*${SIZE}|\\[${LEVEL}(,${LEVEL})*\\])?`;
const axis = z.union([z.string().regex(new RegExp(`^${PART}(\\|${PART})*$`)), z.null()]);

const layerTemplate = z.strictObject({
  /** Module name template; the layer is named after it. */
  module: z.string(),
  kind: z.enum(['dense', 'conv', 'batchnorm', 'norm', 'embedding', 'attention', 'other']),
  input: z.string(),
  output: z.string(),
  /** Parameter (relative to `module`, `?` when optional) → its axes, or `buffer`. */
  tensors: z.record(z.string(), z.union([z.array(axis).min(1), z.literal('buffer')])),
  /** Outside blocks: the layer may be absent (its first tensor missing). */
  optional: z.boolean().optional(),
  /** Outside blocks: what the error names when a required layer's first tensor is missing. */
  missing: z.string().optional(),
});

const spaceTemplate = z.strictObject({
  /** Name template; default the key. */
  name: z.string().optional(),
  kind: z.enum(['free', 'fixed']),
  role: z.string(),
  /** A nested space: the key of the space inside each of whose units it lives. */
  parent: z.string().optional(),
});

/** An attribute of the derived spec: a count the derivation finds, or a config field with a default. */
const attributeTemplate = z.union([
  z.enum(['heads', 'kvHeads', 'headDim', 'blocks']),
  z.strictObject({ config: configKeys, default: z.union([z.string(), z.number()]).optional() }),
]);

const common = {
  /** The template's own name; `family` is the spec family it derives (Mistral derives a `llama` spec). */
  name: z.string(),
  family: z.enum(['mlp', 'cnn', 'resnet', 'gpt2', 'llama']),
  /** How messages name the family. */
  label: z.string(),
  /** A tensor name that marks the family; `*.` in front: after any prefix. Undefined: detected by rank. */
  detect: z.string().optional(),
  /** config.json `model_type` values and `architectures` entries that choose this template. */
  modelTypes: z.array(z.string()).default([]),
  architectures: z.array(z.string()).default([]),
  attributes: z.record(z.string(), attributeTemplate),
};

const transformerTemplate = z.strictObject({
  ...common,
  kind: z.literal('transformer'),
  /** A prefix any name may carry (`transformer.`, `model.`). */
  prefix: z.string(),
  /** The module of block `{i}` (`h.{i}`); every block's modules, tensors and spaces start with it. */
  block: z.string(),
  /** Config fields: head count, key/value head count (absent: as many as heads), head width (absent: width/heads). */
  heads: z.strictObject({ count: configKeys, kv: configKeys.optional(), dim: configKeys.optional() }),
  spaces: z.record(z.string(), spaceTemplate),
  /** Layers before the blocks (the first is the token embedding, `[vocab, width]`), in each block, after. */
  pre: z.array(layerTemplate).min(1),
  layers: z.array(layerTemplate),
  post: z.array(layerTemplate),
});

/** Families whose layers are found from module names and shapes by code: chains of dense, conv and residual layers. */
const chainTemplate = z.strictObject({ ...common, kind: z.enum(['mlp', 'cnn', 'resnet']) });

export const familyTemplateSchema = z.discriminatedUnion('kind', [transformerTemplate, chainTemplate]);
export type FamilyTemplate = z.output<typeof familyTemplateSchema>;
export type TransformerTemplate = z.output<typeof transformerTemplate>;
export type ChainTemplate = z.output<typeof chainTemplate>;
export type LayerTemplate = z.output<typeof layerTemplate>;
export type AttributeTemplate = z.output<typeof attributeTemplate>;

/** A regular expression that matches the names a template matches, `{i}` capturing the block number. */
export function namePattern(template: string): string {
  return template
    .split('{i}')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('(\\d+)');
}

/** Whether a tensor name marks the family (see `detect`). */
export function detects(template: FamilyTemplate, name: string): boolean {
  if (template.detect === undefined) return false;
  const anyPrefix = template.detect.startsWith('*.');
  const pattern = namePattern(anyPrefix ? template.detect.slice(2) : template.detect);
  return new RegExp(`${anyPrefix ? '(^|\\.)' : '^'}${pattern}$`).test(name);
}

/** Whether config.json names the template (`model_type`, or an entry of `architectures`). */
export function configNames(
  template: FamilyTemplate,
  config: Readonly<Record<string, unknown>> | undefined,
): boolean {
  if (config === undefined) return false;
  const architectures = [config.architectures].flat();
  return (
    template.modelTypes.includes(config.model_type as string) ||
    architectures.some((name) => template.architectures.includes(name as string))
  );
}
