import { SpecError } from '../errors.js';
import type { TensorInfo } from '../io/tensor-source.js';
import type { ArchitectureSpec, LayerSpec } from './architecture-spec.js';
import { configAttribute, configPositiveInteger, type ModelConfig } from './model-config.js';
import { compareNatural } from './natural-sort.js';
import { axisOf, axisOfParts, SpecBuilder } from './spec-builder.js';

const BLOCK_TENSOR = /^((?:transformer\.)?h\.\d+)\./;

/**
 * A Hugging Face GPT-2 (Conv1D layout: weights are [in, out]), with or without the `transformer.` prefix.
 *
 * One free space `residual` is shared by the embeddings, every block and the final norm; each block has a heads
 * space named after its attention module (`transformer.h.0.attn`; units are whole heads, so dims inside a head
 * keep their order) and an MLP hidden space named after its MLP module (`transformer.h.0.mlp`). Token ids
 * (`vocab`) and positions (`positions`) are fixed.
 */
export function deriveGpt2Spec(tensors: readonly TensorInfo[], config?: ModelConfig): ArchitectureSpec {
  const builder = new SpecBuilder('gpt2', tensors);
  const names = new Set(tensors.map((tensor) => tensor.name));
  const prefix = tensors.some((tensor) => tensor.name.startsWith('transformer.')) ? 'transformer.' : '';
  const find = (name: string): string | undefined =>
    [`${prefix}${name}`, name].find((candidate) => names.has(candidate));

  const headCount = configPositiveInteger(config, ['n_head', 'num_attention_heads', 'n_heads']);
  if (headCount === undefined) {
    throw new SpecError(
      'a GPT-2 spec needs the number of attention heads (n_head), which the model config does not give: put the ' +
        "model's config.json beside it, or pass a spec file with --spec",
    );
  }
  const tokenEmbedding = find('wte.weight');
  if (tokenEmbedding === undefined)
    throw new SpecError('a GPT-2 model needs tensor wte.weight (the token embedding)');
  const modelWidth = builder.shape(tokenEmbedding)[1];
  if (modelWidth % headCount !== 0) {
    throw new SpecError(
      `tensor '${tokenEmbedding}' axis 1 has length ${modelWidth}, which ${headCount} heads (n_head) do not divide evenly`,
    );
  }
  const headDim = modelWidth / headCount;

  const vocab = builder.space('vocab', 'fixed', 'vocab');
  const residual = builder.space('residual', 'free', 'residual');
  builder.layer(embedding(builder, tokenEmbedding, vocab, residual));
  const positionEmbedding = find('wpe.weight');
  if (positionEmbedding !== undefined) {
    const positions = builder.space('positions', 'fixed', 'positions');
    builder.layer(embedding(builder, positionEmbedding, positions, residual));
  }

  const blocks = new Set<string>();
  for (const tensor of tensors) {
    const match = BLOCK_TENSOR.exec(tensor.name);
    if (match !== null) blocks.add(match[1]);
  }
  for (const block of [...blocks].sort(compareNatural)) {
    const has = (name: string): boolean => names.has(`${block}.${name}`);
    const tensor = (name: string): string => `${block}.${name}`;
    addNorm(builder, `${block}.ln_1`, residual, names);

    const heads = builder.space(`${block}.attn`, 'free', 'heads');
    const qkv = axisOfParts(
      { space: heads, block: headDim },
      { space: heads, block: headDim },
      { space: heads, block: headDim },
    );
    const attention = [builder.tensor(tensor('attn.c_attn.weight'), [axisOf(residual), qkv])];
    if (has('attn.c_attn.bias')) attention.push(builder.tensor(tensor('attn.c_attn.bias'), [qkv]));
    attention.push(builder.tensor(tensor('attn.c_proj.weight'), [axisOf(heads, headDim), axisOf(residual)]));
    if (has('attn.c_proj.bias'))
      attention.push(builder.tensor(tensor('attn.c_proj.bias'), [axisOf(residual)]));
    // The causal mask and its fill value are buffers: copied from the base, never permuted or merged.
    for (const buffer of ['attn.bias', 'attn.masked_bias']) {
      if (has(buffer)) attention.push(builder.buffer(tensor(buffer)));
    }
    builder.layer({
      name: `${block}.attn`,
      kind: 'attention',
      tensors: attention,
      input: residual,
      output: residual,
    });

    addNorm(builder, `${block}.ln_2`, residual, names);
    const hidden = builder.space(`${block}.mlp`, 'free', 'hidden');
    addConv1D(builder, `${block}.mlp.c_fc`, residual, hidden, names);
    addConv1D(builder, `${block}.mlp.c_proj`, hidden, residual, names);
  }

  const finalNorm = find('ln_f.weight');
  if (finalNorm === undefined) throw new SpecError('a GPT-2 model needs tensor ln_f.weight (the final norm)');
  addNorm(builder, finalNorm.slice(0, -'.weight'.length), residual, names);
  const head = find('lm_head.weight');
  if (head !== undefined) {
    builder.tensor(head, [axisOf(vocab), axisOf(residual)]);
    builder.layer({
      name: head.slice(0, -'.weight'.length),
      kind: 'dense',
      tensors: [head],
      input: residual,
      output: vocab,
    });
  }

  builder.attribute('n_head', headCount);
  builder.attribute('head_dim', headDim);
  builder.attribute('n_layer', blocks.size);
  builder.attribute('activation', configAttribute(config, ['activation_function']) ?? 'gelu_new');
  builder.attribute('layer_norm_epsilon', configAttribute(config, ['layer_norm_epsilon']) ?? 1e-5);
  return builder.build();
}

function embedding(builder: SpecBuilder, name: string, rows: string, residual: string): LayerSpec {
  builder.tensor(name, [axisOf(rows), axisOf(residual)]);
  return {
    name: name.slice(0, -'.weight'.length),
    kind: 'embedding',
    tensors: [name],
    input: rows,
    output: residual,
  };
}

function addNorm(builder: SpecBuilder, module: string, space: string, names: ReadonlySet<string>): void {
  const tensors: string[] = [];
  for (const param of ['weight', 'bias']) {
    const name = `${module}.${param}`;
    if (names.has(name)) tensors.push(builder.tensor(name, [axisOf(space)]));
  }
  if (tensors.length === 0)
    throw new SpecError(`a GPT-2 model needs tensor '${module}.weight', which the model lacks`);
  builder.layer({ name: module, kind: 'norm', tensors, input: space, output: space });
}

/** GPT-2's Conv1D stores its weight as [in, out], the transpose of nn.Linear. */
function addConv1D(
  builder: SpecBuilder,
  module: string,
  input: string,
  output: string,
  names: ReadonlySet<string>,
): void {
  const tensors = [builder.tensor(`${module}.weight`, [axisOf(input), axisOf(output)])];
  if (names.has(`${module}.bias`)) tensors.push(builder.tensor(`${module}.bias`, [axisOf(output)]));
  builder.layer({ name: module, kind: 'dense', tensors, input, output });
}
