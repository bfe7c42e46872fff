import { SpecError } from '../errors.js';
import type { ArchitectureSpec } from '../spec/architecture-spec.js';

/**
 * The module names of a transformer as its spec lists them, with the model's own prefix (`transformer.`,
 * `model.` or none): the token (and, for GPT-2, position) embedding, one entry per block, the final norm and
 * the output head, absent when the head is tied to the token embedding.
 */
export interface TransformerStructure {
  readonly tokenEmbedding: string;
  readonly positionEmbedding: string | undefined;
  /** Per block, in network order: the block's module prefix (`transformer.h.3`) and its attention module. */
  readonly blocks: readonly { readonly prefix: string; readonly attention: string }[];
  readonly finalNorm: string;
  /** The head's module (`lm_head`); undefined means the token embedding's transpose (tied weights). */
  readonly head: string | undefined;
}

export function transformerStructure(spec: ArchitectureSpec): TransformerStructure {
  const embeddings = spec.layers.filter((layer) => layer.kind === 'embedding');
  const token = embeddings[0];
  if (token === undefined)
    throw new SpecError(`forward pass: the ${spec.family} spec has no token embedding`);
  const blocks = spec.layers
    .filter((layer) => layer.kind === 'attention')
    .map((layer) => ({ prefix: layer.name.slice(0, layer.name.lastIndexOf('.')), attention: layer.name }));
  const lastAttention = spec.layers.findLastIndex((layer) => layer.kind === 'attention');
  const inBlock = (name: string): boolean => blocks.some((block) => name.startsWith(`${block.prefix}.`));
  const finalNorm = spec.layers.findLast(
    (layer, index) => layer.kind === 'norm' && index > lastAttention && !inBlock(layer.name),
  );
  if (finalNorm === undefined) throw new SpecError(`forward pass: the ${spec.family} spec has no final norm`);
  // The head writes the space the token embedding reads: the vocabulary.
  const head = spec.layers.find(
    (layer) => layer.kind === 'dense' && !inBlock(layer.name) && layer.output === token.input,
  );
  return {
    tokenEmbedding: token.name,
    positionEmbedding: embeddings[1]?.name,
    blocks,
    finalNorm: finalNorm.name,
    head: head?.name,
  };
}
