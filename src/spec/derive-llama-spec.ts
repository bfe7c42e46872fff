import { SpecError } from '../errors.js';
import type { TensorInfo } from '../io/tensor-source.js';
import type { ArchitectureSpec } from './architecture-spec.js';
import { configAttribute, configPositiveInteger, type ModelConfig } from './model-config.js';
import { compareNatural } from './natural-sort.js';
import { axisOf, SpecBuilder } from './spec-builder.js';

const BLOCK_TENSOR = /^((?:model\.)?layers\.\d+)\./;

/**
 * A Hugging Face LLaMA (and the models that share its layout), weights [out, in], with or without `model.`.
 *
 * One free space `residual` is shared by the embedding, every block, the final norm and the head. Per block, the
 * attention's free space is its kv-head groups, named after the attention module (`model.layers.0.self_attn`):
 * RoPE ties the dims inside a head and grouped-query attention ties each group of `g = nH / nKV` query heads to
 * one kv head, so only whole groups may move. k/v rows are `groups × headDim`, q rows and o columns
 * `groups × (g · headDim)`. The MLP hidden space (gate/up rows, down columns) is named after the MLP module
 * (`model.layers.0.mlp`). Token ids (`vocab`) are fixed.
 */
export function deriveLlamaSpec(tensors: readonly TensorInfo[], config?: ModelConfig): ArchitectureSpec {
  const builder = new SpecBuilder('llama', tensors);
  const names = new Set(tensors.map((tensor) => tensor.name));
  const prefix = tensors.some((tensor) => tensor.name.startsWith('model.')) ? 'model.' : '';
  const find = (name: string): string | undefined =>
    [`${prefix}${name}`, name].find((candidate) => names.has(candidate));

  const headCount = configPositiveInteger(config, ['num_attention_heads', 'n_head', 'n_heads']);
  if (headCount === undefined) {
    throw new SpecError(
      'a LLaMA spec needs the number of attention heads (num_attention_heads), which the model config does not ' +
        "give: put the model's config.json beside it, or pass a spec file with --spec",
    );
  }
  const kvHeadCount = configPositiveInteger(config, ['num_key_value_heads', 'n_kv_heads']) ?? headCount;
  if (headCount % kvHeadCount !== 0) {
    throw new SpecError(
      `model config gives ${headCount} attention heads and ${kvHeadCount} key/value heads; the first must be a multiple of the second`,
    );
  }
  const tokenEmbedding = find('embed_tokens.weight');
  if (tokenEmbedding === undefined) {
    throw new SpecError('a LLaMA model needs tensor model.embed_tokens.weight (the token embedding)');
  }
  const modelWidth = builder.shape(tokenEmbedding)[1];
  let headDim = configPositiveInteger(config, ['head_dim']);
  if (headDim === undefined) {
    if (modelWidth % headCount !== 0) {
      throw new SpecError(
        `tensor '${tokenEmbedding}' axis 1 has length ${modelWidth}, which ${headCount} heads do not divide evenly; give head_dim in the config`,
      );
    }
    headDim = modelWidth / headCount;
  }
  const queryBlock = (headCount / kvHeadCount) * headDim;

  const vocab = builder.space('vocab', 'fixed', 'vocab');
  const residual = builder.space('residual', 'free', 'residual');
  builder.tensor(tokenEmbedding, [axisOf(vocab), axisOf(residual)]);
  builder.layer({
    name: tokenEmbedding.slice(0, -'.weight'.length),
    kind: 'embedding',
    tensors: [tokenEmbedding],
    input: vocab,
    output: residual,
  });

  const blocks = new Set<string>();
  for (const tensor of tensors) {
    const match = BLOCK_TENSOR.exec(tensor.name);
    if (match !== null) blocks.add(match[1]);
  }
  for (const block of [...blocks].sort(compareNatural)) {
    const has = (name: string): boolean => names.has(`${block}.${name}`);
    const tensor = (name: string): string => `${block}.${name}`;
    addNorm(builder, `${block}.input_layernorm`, residual, names);

    const groups = builder.space(`${block}.self_attn`, 'free', 'kv-head groups');
    const attention: string[] = [];
    for (const [projection, rowBlock] of [
      ['q_proj', queryBlock],
      ['k_proj', headDim],
      ['v_proj', headDim],
    ] as const) {
      attention.push(
        builder.tensor(tensor(`self_attn.${projection}.weight`), [
          axisOf(groups, rowBlock),
          axisOf(residual),
        ]),
      );
      if (has(`self_attn.${projection}.bias`)) {
        attention.push(builder.tensor(tensor(`self_attn.${projection}.bias`), [axisOf(groups, rowBlock)]));
      }
    }
    attention.push(
      builder.tensor(tensor('self_attn.o_proj.weight'), [axisOf(residual), axisOf(groups, queryBlock)]),
    );
    if (has('self_attn.o_proj.bias'))
      attention.push(builder.tensor(tensor('self_attn.o_proj.bias'), [axisOf(residual)]));
    // Older checkpoints save RoPE's inverse frequencies: a buffer, copied from the base and never merged.
    if (has('self_attn.rotary_emb.inv_freq'))
      attention.push(builder.buffer(tensor('self_attn.rotary_emb.inv_freq')));
    builder.layer({
      name: `${block}.self_attn`,
      kind: 'attention',
      tensors: attention,
      input: residual,
      output: residual,
    });

    addNorm(builder, `${block}.post_attention_layernorm`, residual, names);
    const hidden = builder.space(`${block}.mlp`, 'free', 'hidden');
    addLinear(builder, `${block}.mlp.gate_proj`, residual, hidden, names);
    addLinear(builder, `${block}.mlp.up_proj`, residual, hidden, names);
    addLinear(builder, `${block}.mlp.down_proj`, hidden, residual, names);
  }

  const finalNorm = find('norm.weight');
  if (finalNorm === undefined)
    throw new SpecError('a LLaMA model needs tensor model.norm.weight (the final norm)');
  addNorm(builder, finalNorm.slice(0, -'.weight'.length), residual, names);
  const head = find('lm_head.weight');
  if (head !== undefined) addLinear(builder, head.slice(0, -'.weight'.length), residual, vocab, names);

  builder.attribute('num_attention_heads', headCount);
  builder.attribute('num_key_value_heads', kvHeadCount);
  builder.attribute('head_dim', headDim);
  builder.attribute('num_hidden_layers', blocks.size);
  builder.attribute('activation', configAttribute(config, ['hidden_act']) ?? 'silu');
  builder.attribute('rms_norm_eps', configAttribute(config, ['rms_norm_eps']) ?? 1e-6);
  builder.attribute('rope_theta', configAttribute(config, ['rope_theta']) ?? 10000);
  return builder.build();
}

function addNorm(builder: SpecBuilder, module: string, space: string, names: ReadonlySet<string>): void {
  const tensors = [builder.tensor(`${module}.weight`, [axisOf(space)])];
  if (names.has(`${module}.bias`)) tensors.push(builder.tensor(`${module}.bias`, [axisOf(space)]));
  builder.layer({ name: module, kind: 'norm', tensors, input: space, output: space });
}

function addLinear(
  builder: SpecBuilder,
  module: string,
  input: string,
  output: string,
  names: ReadonlySet<string>,
): void {
  const tensors = [builder.tensor(`${module}.weight`, [axisOf(output), axisOf(input)])];
  if (names.has(`${module}.bias`)) tensors.push(builder.tensor(`${module}.bias`, [axisOf(output)]));
  builder.layer({ name: module, kind: 'dense', tensors, input, output });
}
