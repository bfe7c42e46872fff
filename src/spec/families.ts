import { type FamilyTemplate, familyTemplateSchema, type LayerTemplate } from './family-template.js';

type Axes = LayerTemplate['tensors'][string];

function layer(
  kind: LayerTemplate['kind'],
  module: string,
  [input, output]: readonly [string, string],
  tensors: Record<string, Axes>,
  extra: Partial<LayerTemplate> = {},
): LayerTemplate {
  return { module, kind, input, output, tensors, ...extra };
}

/** A norm over the residual stream; GPT-2's may lack its weight, LLaMA's may lack its bias. */
function norm(module: string, weight: 'weight' | 'weight?', extra?: Partial<LayerTemplate>): LayerTemplate {
  return layer(
    'norm',
    module,
    ['residual', 'residual'],
    { [weight]: ['residual'], 'bias?': ['residual'] },
    extra,
  );
}

/** A dense layer, nn.Linear `[out, in]` or GPT-2's Conv1D `[in, out]`, its bias optional. */
function dense(module: string, input: string, output: string, layout: 'linear' | 'conv1d'): LayerTemplate {
  const weight = layout === 'linear' ? [output, input] : [input, output];
  return layer('dense', module, [input, output], { weight, 'bias?': [output] });
}

/** A token (or position) embedding `[rows, width]`. */
function embedding(module: string, rows: string, extra: Partial<LayerTemplate>): LayerTemplate {
  return layer('embedding', module, [rows, 'residual'], { weight: [rows, 'residual'] }, extra);
}

const QKV = 'heads[qk:head]|heads[qk:head]|heads[v:head]';

/**
 * Hugging Face GPT-2 (Conv1D layout: weights are [in, out]), with or without the `transformer.` prefix. One free
 * `residual` space is shared by the embeddings, every block and the final norm; each block has a heads space
 * named after its attention module and an MLP hidden space named after its MLP module. Inside each head, two
 * nested spaces: the query/key dims (q and k columns permuted together leave every score q·k unchanged) and the
 * value dims (v columns and c_proj rows). Token ids (`vocab`) and positions (`positions`) are fixed.
 */
const GPT2 = {
  kind: 'transformer',
  name: 'gpt2',
  family: 'gpt2',
  label: 'GPT-2',
  detect: '*.h.{i}.attn.c_attn.weight',
  modelTypes: ['gpt2'],
  architectures: ['GPT2LMHeadModel', 'GPT2Model'],
  prefix: 'transformer.',
  block: 'h.{i}',
  heads: { count: ['n_head', 'num_attention_heads', 'n_heads'] },
  spaces: {
    vocab: { kind: 'fixed', role: 'vocab' },
    positions: { kind: 'fixed', role: 'positions' },
    residual: { kind: 'free', role: 'residual' },
    heads: { name: 'h.{i}.attn', kind: 'free', role: 'heads' },
    qk: { name: 'h.{i}.attn.qk', kind: 'free', role: 'query/key dims', parent: 'heads' },
    v: { name: 'h.{i}.attn.v', kind: 'free', role: 'value dims', parent: 'heads' },
    hidden: { name: 'h.{i}.mlp', kind: 'free', role: 'hidden' },
  },
  pre: [
    embedding('wte', 'vocab', { missing: 'wte.weight (the token embedding)' }),
    embedding('wpe', 'positions', { optional: true }),
  ],
  layers: [
    norm('h.{i}.ln_1', 'weight?'),
    layer('attention', 'h.{i}.attn', ['residual', 'residual'], {
      'c_attn.weight': ['residual', QKV],
      'c_attn.bias?': [QKV],
      'c_proj.weight': ['heads[v:head]', 'residual'],
      'c_proj.bias?': ['residual'],
      // The causal mask and its fill value: copied from the base, never permuted or merged.
      'bias?': 'buffer',
      'masked_bias?': 'buffer',
    }),
    norm('h.{i}.ln_2', 'weight?'),
    dense('h.{i}.mlp.c_fc', 'residual', 'hidden', 'conv1d'),
    dense('h.{i}.mlp.c_proj', 'hidden', 'residual', 'conv1d'),
  ],
  post: [
    norm('ln_f', 'weight?', { missing: 'ln_f.weight (the final norm)' }),
    layer('dense', 'lm_head', ['residual', 'vocab'], { weight: ['vocab', 'residual'] }, { optional: true }),
  ],
  attributes: {
    n_head: 'heads',
    head_dim: 'headDim',
    n_layer: 'blocks',
    activation: { config: ['activation_function'], default: 'gelu_new' },
    layer_norm_epsilon: { config: ['layer_norm_epsilon'], default: 1e-5 },
  },
} as const;

/**
 * Hugging Face LLaMA, weights [out, in], with or without `model.`. One free `residual` space is shared by the
 * embedding, every block, the final norm and the head. Per block, the attention's free space is its kv-head
 * groups: grouped-query attention ties each group of `g = nH / nKV` query heads to one kv head, so groups move
 * whole (k/v rows are `groups × headDim`, q rows and o columns `groups × (g · headDim)`). Inside a group, two
 * nested spaces: its query heads (q rows and o columns, a head's dims in order: RoPE rotates dim i with dim
 * i + headDim/2 at a frequency set by i, so no q/k dim may move) and the value dims of its kv head (v rows, and
 * the same dims of every query head's o columns). The MLP hidden space is named after the MLP module. Token ids
 * (`vocab`) are fixed.
 */
const LLAMA = {
  kind: 'transformer',
  name: 'llama',
  family: 'llama',
  label: 'LLaMA',
  detect: '*.layers.{i}.self_attn.q_proj.weight',
  modelTypes: ['llama'],
  architectures: ['LlamaForCausalLM', 'LlamaModel'],
  prefix: 'model.',
  block: 'layers.{i}',
  heads: {
    count: ['num_attention_heads', 'n_head', 'n_heads'],
    kv: ['num_key_value_heads', 'n_kv_heads'],
    dim: ['head_dim'],
  },
  spaces: {
    vocab: { kind: 'fixed', role: 'vocab' },
    residual: { kind: 'free', role: 'residual' },
    heads: { name: 'layers.{i}.self_attn', kind: 'free', role: 'kv-head groups' },
    query: { name: 'layers.{i}.self_attn.query', kind: 'free', role: 'query heads', parent: 'heads' },
    v: { name: 'layers.{i}.self_attn.v', kind: 'free', role: 'value dims', parent: 'heads' },
    hidden: { name: 'layers.{i}.mlp', kind: 'free', role: 'hidden' },
  },
  pre: [embedding('embed_tokens', 'vocab', { missing: 'model.embed_tokens.weight (the token embedding)' })],
  layers: [
    norm('layers.{i}.input_layernorm', 'weight'),
    layer('attention', 'layers.{i}.self_attn', ['residual', 'residual'], {
      'q_proj.weight': ['heads[query:groupHeads,head]', 'residual'],
      'q_proj.bias?': ['heads[query:groupHeads,head]'],
      'k_proj.weight': ['heads*head', 'residual'],
      'k_proj.bias?': ['heads*head'],
      'v_proj.weight': ['heads[v:head]', 'residual'],
      'v_proj.bias?': ['heads[v:head]'],
      'o_proj.weight': ['residual', 'heads[query:groupHeads,v:head]'],
      'o_proj.bias?': ['residual'],
      // Older checkpoints save RoPE's inverse frequencies: copied from the base, never merged.
      'rotary_emb.inv_freq?': 'buffer',
    }),
    norm('layers.{i}.post_attention_layernorm', 'weight'),
    dense('layers.{i}.mlp.gate_proj', 'residual', 'hidden', 'linear'),
    dense('layers.{i}.mlp.up_proj', 'residual', 'hidden', 'linear'),
    dense('layers.{i}.mlp.down_proj', 'hidden', 'residual', 'linear'),
  ],
  post: [
    norm('norm', 'weight', { missing: 'model.norm.weight (the final norm)' }),
    { ...dense('lm_head', 'residual', 'vocab', 'linear'), optional: true },
  ],
  attributes: {
    num_attention_heads: 'heads',
    num_key_value_heads: 'kvHeads',
    head_dim: 'headDim',
    num_hidden_layers: 'blocks',
    activation: { config: ['hidden_act'], default: 'silu' },
    rms_norm_eps: { config: ['rms_norm_eps'], default: 1e-6 },
    rope_theta: { config: ['rope_theta'], default: 10000 },
  },
} as const;

/** Mistral: LLaMA's tensors and spaces (a `llama` spec), chosen by config.json; keeps its sliding window. */
const MISTRAL = {
  ...LLAMA,
  name: 'mistral',
  label: 'Mistral',
  modelTypes: ['mistral'],
  architectures: ['MistralForCausalLM', 'MistralModel'],
  attributes: { ...LLAMA.attributes, sliding_window: { config: ['sliding_window'] } },
} as const;

/** A family found by code from module names and shapes; `activation` lists the config fields naming it. */
function chain(kind: 'mlp' | 'cnn' | 'resnet', label: string, activation: string[], detect?: string) {
  return {
    kind,
    name: kind,
    family: kind,
    label,
    detect,
    attributes: { activation: { config: activation, default: 'relu' } },
  };
}

/** torchvision ResNets (derive-chain-spec.ts): residual spaces `residual.stem` and `residual.<block>`. */
const RESNET = chain('resnet', 'ResNet', ['activation', 'hidden_act'], 'layer{i}.{i}.conv{i}.weight');
/** VGG-style CNNs (any 4-D weight) and MLPs (matrices and vectors): chains of layers ordered by name. */
const CNN = chain('cnn', 'VGG-style CNN', ['activation', 'hidden_act']);
const MLP = chain('mlp', 'MLP', ['activation', 'hidden_act', 'activation_function']);

/**
 * Every family, in detection order (the first whose `detect` name a model has). Among templates of one spec
 * family, config.json chooses (Mistral over LLaMA); without a match the first one is used.
 */
export const FAMILY_TEMPLATES: readonly FamilyTemplate[] = [LLAMA, MISTRAL, GPT2, RESNET, CNN, MLP].map(
  (template) => familyTemplateSchema.parse(template),
);
