import { SpecError } from '../errors.js';
import type { ArchitectureSpec } from '../spec/architecture-spec.js';
import type { ForwardConfig } from './forward-settings.js';
import type { RopeScaling } from './rope-frequencies.js';

/** The transformer families a forward pass exists for (Mistral and Qwen2-style models derive a `llama` spec). */
export const TRANSFORMER_FAMILIES = ['gpt2', 'llama'] as const;
export type TransformerFamily = (typeof TRANSFORMER_FAMILIES)[number];

export function isTransformerFamily(family: string): family is TransformerFamily {
  return (TRANSFORMER_FAMILIES as readonly string[]).includes(family);
}

/**
 * What a transformer forward needs beyond tensor shapes. Widths and head counts always come from the tensors
 * (a projection's width over `headDim`), so a model with permuted or padded heads runs as is; the head width,
 * epsilons, RoPE's theta and the context length cannot be read from shapes.
 */
export interface TransformerSettings {
  readonly family: TransformerFamily;
  /** Entries per attention head. */
  readonly headDim: number;
  /** LayerNorm (GPT-2) or RMSNorm (LLaMA) epsilon. */
  readonly normEps: number;
  /** GPT-2's MLP activation (gelu_new by default); LLaMA's gate activation (silu). */
  readonly activation: string;
  /**
   * GPT-2: whether attention scores are divided by √headDim (`scale_attn_weights`, default true) and by the block's
   * index plus one (`scale_attn_by_inverse_layer_idx`, default false). LLaMA always divides by √headDim alone.
   */
  readonly attentionScaling: { readonly byHeadDim: boolean; readonly byInverseLayer: boolean };
  /** LLaMA: RoPE base. */
  readonly ropeTheta: number;
  /** LLaMA: how the config rescales RoPE's frequencies (rope_scaling). */
  readonly ropeScaling: RopeScaling;
  /** Mistral's attention window: each position attends to this many positions, itself included. */
  readonly slidingWindow: number | undefined;
  /** Longest sequence the model reads, and where it came from (for messages). */
  readonly context: number;
  readonly contextSource: string;
}

/**
 * The config.json `model_type`s each forward pass computes. Other types with the same tensor names (Gemma's, Phi-3's)
 * differ in their norms, embedding scale or activation, so they are refused rather than read as these.
 */
const FORWARD_MODEL_TYPES: Readonly<Record<TransformerFamily, readonly string[]>> = {
  gpt2: ['gpt2'],
  llama: ['llama', 'mistral', 'qwen2'],
};

const positive = (value: number): boolean => value > 0;
const positiveInteger = (value: number): boolean => Number.isInteger(value) && value >= 1;

/** Config keys giving the context length, Hugging Face's names in the order its configs use them. */
const CONTEXT_KEYS = ['n_positions', 'n_ctx', 'max_position_embeddings'] as const;

/** Context length assumed for a rotary model whose config does not say: LLaMA's own default is 2048. */
export const DEFAULT_ROTARY_CONTEXT = 2048;

/**
 * Settings from `config` (config.json values, then safetensors metadata) first, then the spec's attributes (which
 * derivation filled from the config or defaults), then Hugging Face's defaults. `positionRows` is the number of
 * rows of a learned position table (GPT-2's wpe), the context when no config gives one.
 */
export function resolveTransformerSettings(
  spec: ArchitectureSpec,
  config: ForwardConfig = {},
  positionRows?: number,
): TransformerSettings {
  const family = spec.family;
  if (!isTransformerFamily(family)) {
    throw new SpecError(
      `transformer forward: the '${family}' family is not a transformer (supported: ${TRANSFORMER_FAMILIES.join(', ')})`,
    );
  }
  const lookup = (key: string): string | number | undefined => config[key] ?? spec.attributes[key];
  const number = (key: string, fallback: number | undefined, valid: (value: number) => boolean) => {
    const raw = lookup(key);
    if (raw === undefined || raw === '') return fallback;
    const value = typeof raw === 'number' ? raw : Number(raw);
    if (!Number.isFinite(value) || !valid(value)) {
      throw new SpecError(`transformer forward: setting '${key}' = ${JSON.stringify(raw)} is not valid`);
    }
    return value;
  };
  /** A config boolean, which forwardConfigOf passes as 1 or 0. */
  const flag = (key: string, fallback: boolean): boolean => {
    const value = number(key, undefined, (v) => v === 0 || v === 1);
    return value === undefined ? fallback : value === 1;
  };
  const modelType = config['model_type'];
  if (modelType !== undefined && !FORWARD_MODEL_TYPES[family].includes(String(modelType))) {
    throw new SpecError(
      `transformer forward: the model config's model_type '${modelType}' has ${family} tensor names, but its forward pass is not ${family}'s (implemented for model_type ${FORWARD_MODEL_TYPES[family].join(', ')})`,
    );
  }
  if (family === 'llama' && number('partial_rotary_factor', 1, positive) !== 1) {
    throw new SpecError(
      'transformer forward: the model config sets partial_rotary_factor (RoPE on part of each head), which is not implemented',
    );
  }
  const layerTypes = lookup('layer_types');
  if (typeof layerTypes === 'string' && layerTypes.includes('sliding_attention')) {
    throw new SpecError(
      "transformer forward: the model config's layer_types has sliding_attention layers, which are not implemented",
    );
  }
  const headDim = number('head_dim', undefined, positiveInteger);
  if (headDim === undefined) {
    throw new SpecError(
      "transformer forward: the head width is unknown: the spec has no 'head_dim' attribute and the model config none; put the model's config.json beside it",
    );
  }
  if (family === 'llama' && headDim % 2 !== 0) {
    throw new SpecError(`transformer forward: head_dim ${headDim} is odd; RoPE rotates pairs of entries`);
  }
  const scaling = family === 'llama' ? ropeScalingOf(lookup, number) : { kind: 'default' as const };
  if (
    family === 'llama' &&
    spec.attributes['sliding_window'] === undefined &&
    flag('use_sliding_window', false)
  ) {
    // Qwen2's window covers only the layers from max_window_layers on.
    throw new SpecError(
      'transformer forward: the model config sets use_sliding_window (Qwen2-style windowed layers), which is not implemented',
    );
  }
  let context: number | undefined;
  let contextSource = '';
  for (const key of CONTEXT_KEYS) {
    context = number(key, undefined, positiveInteger);
    if (context !== undefined) {
      contextSource = `config '${key}'`;
      break;
    }
  }
  if (context === undefined && positionRows !== undefined) {
    context = positionRows;
    contextSource = 'the rows of the position embedding';
  }
  if (context === undefined) {
    context = DEFAULT_ROTARY_CONTEXT;
    contextSource = `the default ${DEFAULT_ROTARY_CONTEXT} (no context length in the config)`;
  }
  if (positionRows !== undefined && context > positionRows) {
    // A config may claim more positions than the table holds; the table decides what can be read.
    context = positionRows;
    contextSource = 'the rows of the position embedding';
  }
  return {
    family,
    headDim,
    normEps:
      family === 'gpt2'
        ? (number('layer_norm_epsilon', 1e-5, positive) as number)
        : (number('rms_norm_eps', 1e-6, positive) as number),
    activation: String(
      (family === 'gpt2' ? lookup('activation_function') : lookup('hidden_act')) ??
        lookup('activation') ??
        (family === 'gpt2' ? 'gelu_new' : 'silu'),
    ),
    attentionScaling: {
      byHeadDim: family !== 'gpt2' || flag('scale_attn_weights', true),
      byInverseLayer: family === 'gpt2' && flag('scale_attn_by_inverse_layer_idx', false),
    },
    ropeTheta: number('rope_theta', 10000, positive) as number,
    ropeScaling: scaling,
    // Only Mistral's spec keeps the window; Qwen2 configs carry one they do not use (use_sliding_window false).
    slidingWindow:
      spec.attributes['sliding_window'] === undefined
        ? undefined
        : number('sliding_window', undefined, positiveInteger),
    context,
    contextSource,
  };
}

type SettingNumber = (
  key: string,
  fallback: number | undefined,
  valid: (value: number) => boolean,
) => number | undefined;

/**
 * The config's `rope_scaling`, which forwardConfigOf flattens to its kind (`rope_scaling`) and numeric fields
 * (`rope_scaling.factor`, …). Dynamic NTK scaling equals none for sequences up to max_position_embeddings, the
 * longest read; yarn and longrope are refused.
 */
function ropeScalingOf(
  lookup: (key: string) => string | number | undefined,
  number: SettingNumber,
): RopeScaling {
  const kind = lookup('rope_scaling');
  if (kind === undefined || kind === 'default') return { kind: 'default' };
  const field = (name: string, valid: (value: number) => boolean): number => {
    const value = number(`rope_scaling.${name}`, undefined, valid);
    if (value === undefined) {
      throw new SpecError(
        `transformer forward: rope_scaling '${kind}' needs rope_scaling.${name}, and the model config has none`,
      );
    }
    return value;
  };
  switch (kind) {
    case 'linear':
      return { kind, factor: field('factor', positive) };
    case 'dynamic':
      // Hugging Face rescales only sequences longer than max_position_embeddings, which bounds the context here.
      return { kind: 'default' };
    case 'llama3': {
      const lowFreqFactor = field('low_freq_factor', positive);
      const highFreqFactor = field('high_freq_factor', positive);
      if (highFreqFactor <= lowFreqFactor) {
        throw new SpecError(
          `transformer forward: rope_scaling 'llama3' needs high_freq_factor (${highFreqFactor}) above low_freq_factor (${lowFreqFactor})`,
        );
      }
      return {
        kind,
        factor: field('factor', positive),
        lowFreqFactor,
        highFreqFactor,
        originalContext: field('original_max_position_embeddings', positiveInteger),
      };
    }
    default:
      throw new SpecError(
        `transformer forward: the model config asks for RoPE scaling '${kind}' (rope_scaling or rope_parameters), which is not implemented (implemented: linear, dynamic, llama3)`,
      );
  }
}
