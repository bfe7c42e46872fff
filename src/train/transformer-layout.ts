import { MalError } from '../errors.js';
import type { SeededRandom } from '../random/seeded-random.js';

/** The decoder-only families `mal zoo train` builds. */
export type TransformerArchitecture = 'gpt2' | 'llama';

export interface TransformerShape {
  readonly architecture: TransformerArchitecture;
  /** Vocabulary (256 for byte tokens). */
  readonly vocab: number;
  /** Residual width (n_embd / hidden_size). */
  readonly width: number;
  readonly heads: number;
  /** LLaMA only: key/value heads (grouped-query attention); default `heads`. */
  readonly kvHeads?: number;
  readonly layers: number;
  /** Longest sequence: GPT-2's position table rows, LLaMA's max_position_embeddings. */
  readonly context: number;
  /** MLP width; default 4·width (GPT-2) or the multiple of 8 nearest 8/3·width (LLaMA's SwiGLU). */
  readonly intermediate?: number;
}

/** How a tensor starts: GPT-2 and LLaMA draw weights from N(0, std²) and start norms at 1, biases at 0. */
export type TransformerInit =
  | { readonly kind: 'normal'; readonly std: number }
  | { readonly kind: 'ones' }
  | { readonly kind: 'zeros' };

export interface TransformerParam {
  readonly name: string;
  readonly shape: readonly number[];
  readonly init: TransformerInit;
}

export interface TransformerLayout {
  /** In the order Hugging Face's state_dict lists them; the head is tied to the token embedding (no lm_head). */
  readonly params: readonly TransformerParam[];
  /** The model's config.json (Hugging Face keys), which derivation and the forward pass read. */
  readonly config: Record<string, string | number>;
}

/** Hugging Face's initializer_range for both families. */
const INIT_STD = 0.02;

function positive(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 1)
    throw new MalError(`train: ${what} must be a positive integer, got ${value}`);
}

/**
 * The tensors and config of a small GPT-2 (GPT2LMHeadModel, tied head) or LLaMA (LlamaForCausalLM, tied head)
 * in Hugging Face names and layouts, checked so that every head is whole.
 */
export function transformerLayout(shape: TransformerShape): TransformerLayout {
  const { architecture, vocab, width, heads, layers, context } = shape;
  for (const [value, what] of [
    [vocab, 'the vocabulary'],
    [width, '--width'],
    [heads, '--heads'],
    [layers, '--layers'],
    [context, '--context'],
  ] as const)
    positive(value, what);
  if (width % heads !== 0)
    throw new MalError(`train: --width ${width} is not a multiple of --heads ${heads}`);
  const headDim = width / heads;
  return architecture === 'gpt2' ? gpt2Layout(shape, headDim) : llamaLayout(shape, headDim);
}

function gpt2Layout(shape: TransformerShape, headDim: number): TransformerLayout {
  const { vocab, width, heads, layers, context } = shape;
  if (shape.kvHeads !== undefined && shape.kvHeads !== heads) {
    throw new MalError('train: --kv-heads is for LLaMA; GPT-2 has as many key/value heads as heads');
  }
  const inner = shape.intermediate ?? 4 * width;
  positive(inner, '--intermediate');
  const params: TransformerParam[] = [];
  const normal = { kind: 'normal', std: INIT_STD } as const;
  // GPT-2 scales the residual projections by 1/√(2·layers) so the residual stream's variance does not grow.
  const residual = { kind: 'normal', std: INIT_STD / Math.sqrt(2 * layers) } as const;
  const zeros = { kind: 'zeros' } as const;
  const ones = { kind: 'ones' } as const;
  const norm = (prefix: string): void => {
    params.push({ name: `${prefix}.weight`, shape: [width], init: ones });
    params.push({ name: `${prefix}.bias`, shape: [width], init: zeros });
  };
  const conv1d = (prefix: string, input: number, output: number, init: TransformerInit): void => {
    params.push({ name: `${prefix}.weight`, shape: [input, output], init });
    params.push({ name: `${prefix}.bias`, shape: [output], init: zeros });
  };
  params.push({ name: 'transformer.wte.weight', shape: [vocab, width], init: normal });
  params.push({
    name: 'transformer.wpe.weight',
    shape: [context, width],
    init: { kind: 'normal', std: 0.01 },
  });
  for (let layer = 0; layer < layers; layer++) {
    const prefix = `transformer.h.${layer}`;
    norm(`${prefix}.ln_1`);
    conv1d(`${prefix}.attn.c_attn`, width, 3 * width, normal);
    conv1d(`${prefix}.attn.c_proj`, width, width, residual);
    norm(`${prefix}.ln_2`);
    conv1d(`${prefix}.mlp.c_fc`, width, inner, normal);
    conv1d(`${prefix}.mlp.c_proj`, inner, width, residual);
  }
  norm('transformer.ln_f');
  return {
    params,
    config: {
      model_type: 'gpt2',
      vocab_size: vocab,
      n_positions: context,
      n_ctx: context,
      n_embd: width,
      n_head: heads,
      n_layer: layers,
      n_inner: inner,
      head_dim: headDim,
      activation_function: 'gelu_new',
      layer_norm_epsilon: 1e-5,
      tie_word_embeddings: 1,
    },
  };
}

function llamaLayout(shape: TransformerShape, headDim: number): TransformerLayout {
  const { vocab, width, heads, layers, context } = shape;
  const kvHeads = shape.kvHeads ?? heads;
  positive(kvHeads, '--kv-heads');
  if (heads % kvHeads !== 0)
    throw new MalError(`train: --heads ${heads} is not a multiple of --kv-heads ${kvHeads}`);
  if (headDim % 2 !== 0) {
    throw new MalError(
      `train: a LLaMA head of ${headDim} (--width / --heads) is odd; RoPE rotates pairs of entries`,
    );
  }
  const inner = shape.intermediate ?? Math.max(8, Math.round((8 / 3) * (width / 8)) * 8);
  positive(inner, '--intermediate');
  const params: TransformerParam[] = [];
  const normal = { kind: 'normal', std: INIT_STD } as const;
  const ones = { kind: 'ones' } as const;
  const linear = (name: string, output: number, input: number): void => {
    params.push({ name, shape: [output, input], init: normal });
  };
  params.push({ name: 'model.embed_tokens.weight', shape: [vocab, width], init: normal });
  for (let layer = 0; layer < layers; layer++) {
    const prefix = `model.layers.${layer}`;
    params.push({ name: `${prefix}.input_layernorm.weight`, shape: [width], init: ones });
    linear(`${prefix}.self_attn.q_proj.weight`, heads * headDim, width);
    linear(`${prefix}.self_attn.k_proj.weight`, kvHeads * headDim, width);
    linear(`${prefix}.self_attn.v_proj.weight`, kvHeads * headDim, width);
    linear(`${prefix}.self_attn.o_proj.weight`, width, heads * headDim);
    params.push({ name: `${prefix}.post_attention_layernorm.weight`, shape: [width], init: ones });
    linear(`${prefix}.mlp.gate_proj.weight`, inner, width);
    linear(`${prefix}.mlp.up_proj.weight`, inner, width);
    linear(`${prefix}.mlp.down_proj.weight`, width, inner);
  }
  params.push({ name: 'model.norm.weight', shape: [width], init: ones });
  return {
    params,
    config: {
      model_type: 'llama',
      vocab_size: vocab,
      hidden_size: width,
      intermediate_size: inner,
      num_hidden_layers: layers,
      num_attention_heads: heads,
      num_key_value_heads: kvHeads,
      head_dim: headDim,
      hidden_act: 'silu',
      rms_norm_eps: 1e-5,
      rope_theta: 10000,
      max_position_embeddings: context,
      tie_word_embeddings: 1,
    },
  };
}

/** A tensor's starting values; drawn in layout order from one stream, so the seed fixes them all. */
export function transformerInitialValues(param: TransformerParam, random: SeededRandom): Float32Array {
  const count = param.shape.reduce((a, b) => a * b, 1);
  switch (param.init.kind) {
    case 'normal':
      return random.normalArray(count, param.init.std);
    case 'ones':
      return new Float32Array(count).fill(1);
    case 'zeros':
      return new Float32Array(count);
  }
}
