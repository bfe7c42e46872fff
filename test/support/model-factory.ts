/**
 * Seeded random models with the tensor names and layouts that PyTorch / Hugging Face checkpoints use, for
 * property tests of alignment and merging. Every model is a plain `Map<string, FloatTensor>` in state_dict order
 * plus a `config` that mirrors what a Hugging Face config.json (or, for the torchvision-style CNNs, the
 * constructor arguments) would hold, so the reference forward passes can run it.
 *
 * Scales: dense and convolution weights are N(0, gain/fan_in) (gain 2 before a ReLU, 1 otherwise), so
 * activations stay O(1) through a few layers and differences between models are numerically meaningful.
 * Biases and normalization parameters are random too, so a test that forgets to map one of them fails.
 */
import { SeededRandom } from '../../src/random/seeded-random.js';
import type { FloatTensor } from '../../src/tensor/tensor.js';

export type ModelConfig = Record<string, number | string>;

export interface SyntheticModel {
  readonly tensors: Map<string, FloatTensor>;
  readonly config: ModelConfig;
}

function tensorOf(shape: readonly number[], data: Float32Array): FloatTensor {
  return { shape: [...shape], data };
}

function normalTensor(random: SeededRandom, shape: readonly number[], std: number): FloatTensor {
  let count = 1;
  for (const d of shape) count *= d;
  return tensorOf(shape, random.normalArray(count, std));
}

function uniformTensor(
  random: SeededRandom,
  shape: readonly number[],
  low: number,
  high: number,
): FloatTensor {
  let count = 1;
  for (const d of shape) count *= d;
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = low + (high - low) * random.next();
  return tensorOf(shape, data);
}

/** Gamma around 1 rather than exactly 1, so a norm whose weight is mapped wrongly changes the output. */
function normGammaTensor(random: SeededRandom, width: number): FloatTensor {
  const data = new Float32Array(width);
  for (let i = 0; i < width; i++) data[i] = 1 + 0.1 * random.normal();
  return tensorOf([width], data);
}

/** Adds a torchvision BatchNorm2d's five state_dict entries under `prefix`. */
function addBatchNorm(
  tensors: Map<string, FloatTensor>,
  random: SeededRandom,
  prefix: string,
  channels: number,
  gammaRange: readonly [number, number] = [0.5, 1.5],
): void {
  tensors.set(`${prefix}.weight`, uniformTensor(random, [channels], gammaRange[0], gammaRange[1]));
  tensors.set(`${prefix}.bias`, normalTensor(random, [channels], 0.1));
  tensors.set(`${prefix}.running_mean`, normalTensor(random, [channels], 0.1));
  // Strictly positive: a real running variance never reaches zero, only a padded dead channel's does.
  tensors.set(`${prefix}.running_var`, uniformTensor(random, [channels], 0.5, 1.5));
  // int64 scalar in PyTorch; carried as a 0-d float tensor because FloatTensor is the only tensor type here.
  tensors.set(`${prefix}.num_batches_tracked`, tensorOf([], new Float32Array([100])));
}

export type MlpNaming = 'layers' | 'fc' | 'sequential';

export interface MlpOptions {
  /** `[in, h1, ..., out]`: at least two entries. */
  readonly widths: readonly number[];
  /**
   * `layers`: an nn.ModuleList `layers.0`, `layers.1`, …; `fc`: attributes `fc1`, `fc2`, …;
   * `sequential`: nn.Sequential `net` with a ReLU between Linears, so `net.0`, `net.2`, ….
   */
  readonly naming: MlpNaming;
  /** Default true. */
  readonly bias?: boolean;
  readonly seed: number;
}

/** Name prefix of the Linear at position `layer` (0-based) of an MLP. */
export function mlpLayerPrefix(naming: MlpNaming, layer: number): string {
  switch (naming) {
    case 'layers':
      return `layers.${layer}`;
    case 'fc':
      return `fc${layer + 1}`;
    case 'sequential':
      return `net.${2 * layer}`;
  }
}

/** Linears with ReLU between them (none after the last). Weights `[out, in]`. */
export function makeMlp(options: MlpOptions): SyntheticModel {
  const { widths, naming, seed } = options;
  if (widths.length < 2)
    throw new Error(`makeMlp: widths needs at least [in, out], got [${widths.join(', ')}]`);
  const withBias = options.bias ?? true;
  const random = new SeededRandom(seed);
  const tensors = new Map<string, FloatTensor>();
  const layerCount = widths.length - 1;
  for (let layer = 0; layer < layerCount; layer++) {
    const fanIn = widths[layer];
    const fanOut = widths[layer + 1];
    const gain = layer < layerCount - 1 ? 2 : 1;
    const prefix = mlpLayerPrefix(naming, layer);
    tensors.set(`${prefix}.weight`, normalTensor(random, [fanOut, fanIn], Math.sqrt(gain / fanIn)));
    if (withBias) tensors.set(`${prefix}.bias`, normalTensor(random, [fanOut], 0.1));
  }
  const config: ModelConfig = {
    model_type: 'mlp',
    naming,
    activation: 'relu',
    input_size: widths[0],
    output_size: widths[widths.length - 1],
    hidden_sizes: widths.slice(1, -1).join(','),
    num_layers: layerCount,
  };
  return { tensors, config };
}

export interface VggCnnOptions {
  readonly inChannels: number;
  /** Output channels of each conv block; each block halves the image with a 2×2 max-pool. */
  readonly channels: readonly number[];
  /** Square input side; must be divisible by 2^channels.length. */
  readonly imageSize: number;
  /** Hidden widths of the classifier; default none (one Linear straight to the classes). */
  readonly hidden?: readonly number[];
  readonly classes: number;
  readonly seed: number;
}

/**
 * `features` is an nn.Sequential of blocks (Conv2d 3×3 padding 1 with bias, BatchNorm2d, ReLU, MaxPool2d 2×2),
 * so conv `i` is `features.{4i}` and its BatchNorm `features.{4i+1}`. `classifier` follows torchvision VGG
 * (Linear, ReLU, Dropout per hidden layer, then Linear), so its Linears are `classifier.0`, `classifier.3`, ….
 * There is no adaptive average pool: the classifier reads the flattened `[C, H, W]` map directly, in PyTorch's
 * flatten order (channel-major: feature `c·H·W + y·W + x`).
 */
export function makeVggCnn(options: VggCnnOptions): SyntheticModel {
  const { inChannels, channels, imageSize, classes, seed } = options;
  const hidden = options.hidden ?? [];
  const finalSide = imageSize / 2 ** channels.length;
  if (!Number.isInteger(finalSide) || finalSide < 1) {
    throw new Error(`makeVggCnn: imageSize ${imageSize} is not divisible by 2^${channels.length}`);
  }
  const random = new SeededRandom(seed);
  const tensors = new Map<string, FloatTensor>();
  let previous = inChannels;
  channels.forEach((outChannels, block) => {
    const fanIn = previous * 9;
    tensors.set(
      `features.${4 * block}.weight`,
      normalTensor(random, [outChannels, previous, 3, 3], Math.sqrt(2 / fanIn)),
    );
    tensors.set(`features.${4 * block}.bias`, normalTensor(random, [outChannels], 0.1));
    addBatchNorm(tensors, random, `features.${4 * block + 1}`, outChannels);
    previous = outChannels;
  });
  const denseWidths = [previous * finalSide * finalSide, ...hidden, classes];
  for (let layer = 0; layer < denseWidths.length - 1; layer++) {
    const fanIn = denseWidths[layer];
    const gain = layer < denseWidths.length - 2 ? 2 : 1;
    tensors.set(
      `classifier.${3 * layer}.weight`,
      normalTensor(random, [denseWidths[layer + 1], fanIn], Math.sqrt(gain / fanIn)),
    );
    tensors.set(`classifier.${3 * layer}.bias`, normalTensor(random, [denseWidths[layer + 1]], 0.1));
  }
  const config: ModelConfig = {
    model_type: 'vgg',
    in_channels: inChannels,
    image_size: imageSize,
    num_classes: classes,
    channels: channels.join(','),
    hidden_sizes: hidden.join(','),
    conv_kernel: 3,
    conv_padding: 1,
    pool_kernel: 2,
    batch_norm_eps: 1e-5,
  };
  return { tensors, config };
}

export interface ResNetStage {
  readonly channels: number;
  readonly blocks: number;
  /** Stride of the stage's first block (its conv1 and downsample); later blocks use stride 1. */
  readonly stride: number;
}

export interface ResNetOptions {
  readonly inChannels: number;
  readonly stemChannels: number;
  readonly stages: readonly ResNetStage[];
  readonly classes: number;
  /** Square input side recorded in the config for the forward pass; default 8. */
  readonly imageSize?: number;
  readonly seed: number;
}

/**
 * torchvision ResNet with BasicBlocks, sized for small images: the stem is a 3×3 conv stride 1 padding 1
 * (no bias) + BatchNorm + ReLU with no max-pool (CIFAR-style, instead of torchvision's 7×7 stride 2 + max-pool),
 * so an 8×8 image keeps its resolution until the first strided stage. A stage's first block gets
 * `downsample.0` (1×1 conv, no bias, the stage stride) + `downsample.1` (BatchNorm) when its stride is not 1 or
 * its channel count changes. Global average pool, then `fc`.
 */
export function makeResNet(options: ResNetOptions): SyntheticModel {
  const { inChannels, stemChannels, stages, classes, seed } = options;
  const imageSize = options.imageSize ?? 8;
  const random = new SeededRandom(seed);
  const tensors = new Map<string, FloatTensor>();
  const conv = (name: string, outChannels: number, input: number, kernel: number): void => {
    const fanIn = input * kernel * kernel;
    tensors.set(name, normalTensor(random, [outChannels, input, kernel, kernel], Math.sqrt(2 / fanIn)));
  };
  conv('conv1.weight', stemChannels, inChannels, 3);
  addBatchNorm(tensors, random, 'bn1', stemChannels);
  let previous = stemChannels;
  stages.forEach((stage, stageIndex) => {
    for (let block = 0; block < stage.blocks; block++) {
      const prefix = `layer${stageIndex + 1}.${block}`;
      const stride = block === 0 ? stage.stride : 1;
      conv(`${prefix}.conv1.weight`, stage.channels, previous, 3);
      addBatchNorm(tensors, random, `${prefix}.bn1`, stage.channels);
      conv(`${prefix}.conv2.weight`, stage.channels, stage.channels, 3);
      // A smaller gamma on the residual branch keeps the sum of many blocks O(1) (cf. zero-init residual BN).
      addBatchNorm(tensors, random, `${prefix}.bn2`, stage.channels, [0.2, 0.5]);
      if (stride !== 1 || previous !== stage.channels) {
        conv(`${prefix}.downsample.0.weight`, stage.channels, previous, 1);
        addBatchNorm(tensors, random, `${prefix}.downsample.1`, stage.channels);
      }
      previous = stage.channels;
    }
  });
  tensors.set('fc.weight', normalTensor(random, [classes, previous], Math.sqrt(1 / previous)));
  tensors.set('fc.bias', normalTensor(random, [classes], 0.1));
  const config: ModelConfig = {
    model_type: 'resnet',
    layer_type: 'basic',
    num_channels: inChannels,
    embedding_size: stemChannels,
    hidden_sizes: stages.map((s) => s.channels).join(','),
    depths: stages.map((s) => s.blocks).join(','),
    strides: stages.map((s) => s.stride).join(','),
    num_labels: classes,
    image_size: imageSize,
    stem_kernel: 3,
    stem_stride: 1,
    stem_pool: 'none',
    batch_norm_eps: 1e-5,
  };
  return { tensors, config };
}

export interface Gpt2Options {
  readonly vocab: number;
  readonly positions: number;
  readonly dModel: number;
  readonly nHead: number;
  readonly nLayer: number;
  /** MLP width is ffMult·dModel; default 4. */
  readonly ffMult?: number;
  /** true (default, as GPT-2 ships): `lm_head.weight` is a copy with the same values as `wte`. */
  readonly tiedLmHead?: boolean;
  readonly seed: number;
}

/**
 * Hugging Face GPT2LMHeadModel names. Attention and MLP weights use GPT-2's Conv1D layout `[in, out]`
 * (`y = x·W + b`); `c_attn` fuses q|k|v along its output axis, each part `dModel` wide and split into
 * `nHead` contiguous blocks of `dModel/nHead`. `lm_head.weight` is `[vocab, dModel]`.
 */
export function makeGpt2(options: Gpt2Options): SyntheticModel {
  const { vocab, positions, dModel, nHead, nLayer, seed } = options;
  if (dModel % nHead !== 0) throw new Error(`makeGpt2: dModel ${dModel} is not divisible by nHead ${nHead}`);
  const ff = (options.ffMult ?? 4) * dModel;
  const tied = options.tiedLmHead ?? true;
  const random = new SeededRandom(seed);
  const tensors = new Map<string, FloatTensor>();
  const conv1d = (prefix: string, input: number, output: number): void => {
    tensors.set(`${prefix}.weight`, normalTensor(random, [input, output], Math.sqrt(1 / input)));
    tensors.set(`${prefix}.bias`, normalTensor(random, [output], 0.1));
  };
  const layerNorm = (prefix: string): void => {
    tensors.set(`${prefix}.weight`, normGammaTensor(random, dModel));
    tensors.set(`${prefix}.bias`, normalTensor(random, [dModel], 0.1));
  };
  const wte = normalTensor(random, [vocab, dModel], 0.5);
  tensors.set('transformer.wte.weight', wte);
  tensors.set('transformer.wpe.weight', normalTensor(random, [positions, dModel], 0.5));
  for (let layer = 0; layer < nLayer; layer++) {
    const prefix = `transformer.h.${layer}`;
    layerNorm(`${prefix}.ln_1`);
    conv1d(`${prefix}.attn.c_attn`, dModel, 3 * dModel);
    conv1d(`${prefix}.attn.c_proj`, dModel, dModel);
    layerNorm(`${prefix}.ln_2`);
    conv1d(`${prefix}.mlp.c_fc`, dModel, ff);
    conv1d(`${prefix}.mlp.c_proj`, ff, dModel);
  }
  layerNorm('transformer.ln_f');
  tensors.set(
    'lm_head.weight',
    tied ? tensorOf(wte.shape, new Float32Array(wte.data)) : normalTensor(random, [vocab, dModel], 0.5),
  );
  const config: ModelConfig = {
    model_type: 'gpt2',
    vocab_size: vocab,
    n_positions: positions,
    n_ctx: positions,
    n_embd: dModel,
    n_head: nHead,
    n_layer: nLayer,
    n_inner: ff,
    activation_function: 'gelu_new',
    layer_norm_epsilon: 1e-5,
    tie_word_embeddings: tied ? 1 : 0,
  };
  return { tensors, config };
}

export interface LlamaOptions {
  readonly vocab: number;
  readonly dModel: number;
  readonly nHead: number;
  /** Key/value heads; nHead must be a multiple (grouped-query attention). */
  readonly nKvHead: number;
  /** Default dModel/nHead. */
  readonly headDim?: number;
  readonly ff: number;
  readonly nLayer: number;
  /** Default 10000. */
  readonly ropeTheta?: number;
  /** Default 1e-6 (Hugging Face's LlamaConfig default). */
  readonly rmsNormEps?: number;
  /** Default false: a separate `lm_head.weight`. true: a copy with the same values as the embedding. */
  readonly tiedLmHead?: boolean;
  /** Qwen2-style biases on q_proj, k_proj and v_proj. Default false. */
  readonly qkvBias?: boolean;
  readonly seed: number;
}

/**
 * Hugging Face LlamaForCausalLM names, nn.Linear layout `[out, in]`, no biases. q_proj is `[nHead·headDim, d]`,
 * k_proj and v_proj `[nKvHead·headDim, d]`, o_proj `[d, nHead·headDim]`; heads are contiguous blocks of
 * `headDim` rows. Query head h reads key/value head `floor(h / (nHead/nKvHead))` (Hugging Face's repeat_kv).
 */
export function makeLlama(options: LlamaOptions): SyntheticModel {
  const { vocab, dModel, nHead, nKvHead, ff, nLayer, seed } = options;
  const headDim = options.headDim ?? dModel / nHead;
  if (!Number.isInteger(headDim) || headDim % 2 !== 0) {
    throw new Error(`makeLlama: headDim ${headDim} must be an even integer (RoPE rotates pairs)`);
  }
  if (nHead % nKvHead !== 0)
    throw new Error(`makeLlama: nHead ${nHead} is not a multiple of nKvHead ${nKvHead}`);
  const random = new SeededRandom(seed);
  const tensors = new Map<string, FloatTensor>();
  const linear = (name: string, output: number, input: number): void => {
    tensors.set(name, normalTensor(random, [output, input], Math.sqrt(1 / input)));
  };
  const embed = normalTensor(random, [vocab, dModel], 1);
  tensors.set('model.embed_tokens.weight', embed);
  for (let layer = 0; layer < nLayer; layer++) {
    const prefix = `model.layers.${layer}`;
    tensors.set(`${prefix}.input_layernorm.weight`, normGammaTensor(random, dModel));
    linear(`${prefix}.self_attn.q_proj.weight`, nHead * headDim, dModel);
    linear(`${prefix}.self_attn.k_proj.weight`, nKvHead * headDim, dModel);
    linear(`${prefix}.self_attn.v_proj.weight`, nKvHead * headDim, dModel);
    linear(`${prefix}.self_attn.o_proj.weight`, dModel, nHead * headDim);
    if (options.qkvBias === true) {
      tensors.set(`${prefix}.self_attn.q_proj.bias`, normalTensor(random, [nHead * headDim], 0.3));
      tensors.set(`${prefix}.self_attn.k_proj.bias`, normalTensor(random, [nKvHead * headDim], 0.3));
      tensors.set(`${prefix}.self_attn.v_proj.bias`, normalTensor(random, [nKvHead * headDim], 0.3));
    }
    tensors.set(`${prefix}.post_attention_layernorm.weight`, normGammaTensor(random, dModel));
    linear(`${prefix}.mlp.gate_proj.weight`, ff, dModel);
    linear(`${prefix}.mlp.up_proj.weight`, ff, dModel);
    linear(`${prefix}.mlp.down_proj.weight`, dModel, ff);
  }
  tensors.set('model.norm.weight', normGammaTensor(random, dModel));
  const tied = options.tiedLmHead ?? false;
  tensors.set(
    'lm_head.weight',
    tied ? tensorOf(embed.shape, new Float32Array(embed.data)) : normalTensor(random, [vocab, dModel], 0.5),
  );
  const config: ModelConfig = {
    model_type: 'llama',
    vocab_size: vocab,
    hidden_size: dModel,
    intermediate_size: ff,
    num_hidden_layers: nLayer,
    num_attention_heads: nHead,
    num_key_value_heads: nKvHead,
    head_dim: headDim,
    hidden_act: 'silu',
    rms_norm_eps: options.rmsNormEps ?? 1e-6,
    rope_theta: options.ropeTheta ?? 10000,
    max_position_embeddings: 2048,
    tie_word_embeddings: tied ? 1 : 0,
  };
  return { tensors, config };
}

/** `count` input vectors of `size` standard-normal features (for MLPs). */
export function randomVectors(count: number, size: number, seed: number): Float64Array[] {
  const random = new SeededRandom(seed);
  const vectors: Float64Array[] = [];
  for (let i = 0; i < count; i++) vectors.push(Float64Array.from(random.normalArray(size)));
  return vectors;
}

/** `count` standard-normal images, each `[channels, side, side]` row-major (for the CNN forwards). */
export function randomImages(count: number, channels: number, side: number, seed: number): Float64Array[] {
  return randomVectors(count, channels * side * side, seed);
}

/** A token sequence of `length` ids in `[0, vocab)`. */
export function randomTokens(length: number, vocab: number, seed: number): number[] {
  const random = new SeededRandom(seed);
  const tokens: number[] = [];
  for (let i = 0; i < length; i++) tokens.push(random.int(vocab));
  return tokens;
}
