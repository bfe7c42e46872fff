/**
 * Reference forward passes in float64, written plainly so they can be trusted as an oracle: no code is shared
 * with the project's src/. They run the models of model-factory.ts and any model derived from them by
 * permuting or zero-padding unit spaces, so every width is read from the tensor shapes, never from the config.
 * The config supplies only what shapes cannot: image size, strides, head size, epsilons, RoPE theta.
 *
 * Every forward has the same form `(tensors, config, input, options?)` and returns one Float64Array of logits
 * per sample (MLP, CNNs: per input; GPT-2, LLaMA: per token position).
 */
import type { FloatTensor } from '../../src/tensor/tensor.js';

export type TensorMap = ReadonlyMap<string, FloatTensor>;
export type ReferenceConfig = Readonly<Record<string, number | string>>;

/** A `[channels, height, width]` activation, row-major. */
export interface FeatureMap {
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  readonly data: Float64Array;
}

// ---------------------------------------------------------------------------------------------------------
// Lookups

function requireTensor(tensors: TensorMap, name: string): FloatTensor {
  const tensor = tensors.get(name);
  if (tensor === undefined) throw new Error(`reference forward: missing tensor ${name}`);
  return tensor;
}

function requireRank(tensor: FloatTensor, rank: number, name: string): void {
  if (tensor.shape.length !== rank) {
    throw new Error(
      `reference forward: ${name} has shape [${tensor.shape.join(', ')}], expected rank ${rank}`,
    );
  }
}

function configNumber(config: ReferenceConfig, key: string, fallback?: number): number {
  const value = config[key];
  if (value === undefined) {
    if (fallback !== undefined) return fallback;
    throw new Error(`reference forward: config has no ${key}`);
  }
  const parsed = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(parsed))
    throw new Error(`reference forward: config ${key} = ${value} is not a number`);
  return parsed;
}

/** `"1,2,2"` → [1, 2, 2]: the CNN configs store lists as comma-joined strings. */
function configNumberList(config: ReferenceConfig, key: string): number[] {
  const value = config[key];
  if (value === undefined) throw new Error(`reference forward: config has no ${key}`);
  if (typeof value === 'number') return [value];
  if (value.trim() === '') return [];
  return value.split(',').map((part) => {
    const parsed = Number(part);
    if (!Number.isFinite(parsed))
      throw new Error(`reference forward: config ${key} = ${value} is not a list`);
    return parsed;
  });
}

/** Orders `layers.10` after `layers.2` and `fc10` after `fc2`: digit runs compare as numbers. */
export function naturalCompare(a: string, b: string): number {
  const tokensA = a.match(/\d+|\D+/g) ?? [];
  const tokensB = b.match(/\d+|\D+/g) ?? [];
  const common = Math.min(tokensA.length, tokensB.length);
  for (let i = 0; i < common; i++) {
    const x = tokensA[i];
    const y = tokensB[i];
    const numeric = /^\d/.test(x) && /^\d/.test(y);
    if (numeric) {
      const difference = Number(x) - Number(y);
      if (difference !== 0) return difference;
    } else if (x !== y) {
      return x < y ? -1 : 1;
    }
  }
  return tokensA.length - tokensB.length;
}

/** Prefixes (name without `.weight`) of the rank-2 weights whose name starts with `namePrefix`, in order. */
function denseChain(tensors: TensorMap, namePrefix: string): string[] {
  const prefixes: string[] = [];
  for (const [name, tensor] of tensors) {
    if (name.startsWith(namePrefix) && name.endsWith('.weight') && tensor.shape.length === 2) {
      prefixes.push(name.slice(0, -'.weight'.length));
    }
  }
  return prefixes.sort(naturalCompare);
}

// ---------------------------------------------------------------------------------------------------------
// Primitives (exported so tests can check each against a hand computation)

/** `y = W·x + b` with an nn.Linear weight `[out, in]`. */
export function linear(x: Float64Array, weight: FloatTensor, bias?: FloatTensor): Float64Array {
  requireRank(weight, 2, 'linear weight');
  const [outputs, inputs] = weight.shape;
  if (x.length !== inputs)
    throw new Error(`linear: input has ${x.length} features, weight expects ${inputs}`);
  const y = new Float64Array(outputs);
  for (let o = 0; o < outputs; o++) {
    let sum = bias === undefined ? 0 : bias.data[o];
    for (let i = 0; i < inputs; i++) sum += weight.data[o * inputs + i] * x[i];
    y[o] = sum;
  }
  return y;
}

/** `y = x·W + b` with a GPT-2 Conv1D weight `[in, out]`. */
export function conv1dGpt2(x: Float64Array, weight: FloatTensor, bias?: FloatTensor): Float64Array {
  requireRank(weight, 2, 'Conv1D weight');
  const [inputs, outputs] = weight.shape;
  if (x.length !== inputs)
    throw new Error(`Conv1D: input has ${x.length} features, weight expects ${inputs}`);
  const y = new Float64Array(outputs);
  for (let o = 0; o < outputs; o++) {
    let sum = bias === undefined ? 0 : bias.data[o];
    for (let i = 0; i < inputs; i++) sum += x[i] * weight.data[i * outputs + o];
    y[o] = sum;
  }
  return y;
}

export function relu(x: Float64Array): Float64Array {
  return x.map((v) => Math.max(v, 0));
}

/** GELU, tanh approximation (GPT-2's `gelu_new`). */
export function geluTanh(v: number): number {
  return 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)));
}

export function silu(v: number): number {
  return v / (1 + Math.exp(-v));
}

export function softmax(scores: readonly number[] | Float64Array): Float64Array {
  let max = Number.NEGATIVE_INFINITY;
  for (const s of scores) max = Math.max(max, s);
  const exps = Float64Array.from(scores, (s) => Math.exp(s - max));
  let total = 0;
  for (const e of exps) total += e;
  return exps.map((e) => e / total);
}

/** PyTorch LayerNorm over the whole vector (biased variance). */
export function layerNorm(x: Float64Array, gamma: FloatTensor, beta: FloatTensor, eps: number): Float64Array {
  const n = x.length;
  let mean = 0;
  for (const v of x) mean += v;
  mean /= n;
  let variance = 0;
  for (const v of x) variance += (v - mean) * (v - mean);
  variance /= n;
  const scale = 1 / Math.sqrt(variance + eps);
  return x.map((v, i) => (v - mean) * scale * gamma.data[i] + beta.data[i]);
}

/** LLaMA RMSNorm: `x / sqrt(mean(x²) + eps) · weight`. */
export function rmsNorm(x: Float64Array, weight: FloatTensor, eps: number): Float64Array {
  let meanSquare = 0;
  for (const v of x) meanSquare += v * v;
  meanSquare /= x.length;
  const scale = 1 / Math.sqrt(meanSquare + eps);
  return x.map((v, i) => v * scale * weight.data[i]);
}

/**
 * Hugging Face LLaMA rotary embedding of one head vector (rotate_half convention): entry i pairs with
 * entry i + headDim/2 and both turn by `position · theta^(−2i/headDim)`.
 */
export function applyRope(
  head: Float64Array,
  position: number,
  theta: number,
  /** Pair i's frequency; by default `theta^(−2i/headDim)`, as with no rope_scaling. */
  frequencies?: Float64Array,
): Float64Array {
  const half = head.length / 2;
  const rotated = new Float64Array(head.length);
  for (let i = 0; i < half; i++) {
    const angle = position * (frequencies?.[i] ?? theta ** ((-2 * i) / head.length));
    const cos = Math.cos(angle);
    const sin = Math.sin(angle);
    rotated[i] = head[i] * cos - head[i + half] * sin;
    rotated[i + half] = head[i + half] * cos + head[i] * sin;
  }
  return rotated;
}

/**
 * Causal scaled-dot-product attention. `queries[t]` holds nHead contiguous head blocks of headDim, `keys[t]` and
 * `values[t]` nKvHead blocks; query head h reads key/value head `floor(h / (nHead/nKvHead))`.
 * Returns, per position, the concatenated head outputs (nHead·headDim).
 */
export function causalSelfAttention(
  queries: readonly Float64Array[],
  keys: readonly Float64Array[],
  values: readonly Float64Array[],
  nHead: number,
  nKvHead: number,
  headDim: number,
  /** Mistral's sliding window: position t attends to the last `window` positions, itself included. */
  window = Number.POSITIVE_INFINITY,
  /** What the scores are multiplied by. */
  scale = 1 / Math.sqrt(headDim),
): Float64Array[] {
  if (nHead % nKvHead !== 0)
    throw new Error(`attention: ${nHead} heads do not group over ${nKvHead} kv heads`);
  const groupSize = nHead / nKvHead;
  const outputs: Float64Array[] = [];
  for (let t = 0; t < queries.length; t++) {
    const output = new Float64Array(nHead * headDim);
    for (let h = 0; h < nHead; h++) {
      const kvHead = Math.floor(h / groupSize);
      const first = Math.max(0, t - window + 1);
      const scores: number[] = [];
      for (let s = first; s <= t; s++) {
        let dot = 0;
        for (let j = 0; j < headDim; j++) dot += queries[t][h * headDim + j] * keys[s][kvHead * headDim + j];
        scores.push(dot * scale);
      }
      const weights = softmax(scores);
      for (let s = first; s <= t; s++) {
        for (let j = 0; j < headDim; j++)
          output[h * headDim + j] += weights[s - first] * values[s][kvHead * headDim + j];
      }
    }
    outputs.push(output);
  }
  return outputs;
}

/** PyTorch Conv2d (cross-correlation), square kernel `[out, in, k, k]`, zero padding on all sides. */
export function conv2d(
  input: FeatureMap,
  weight: FloatTensor,
  bias: FloatTensor | undefined,
  stride: number,
  padding: number,
): FeatureMap {
  requireRank(weight, 4, 'conv weight');
  const [outChannels, inChannels, kernelHeight, kernelWidth] = weight.shape;
  if (inChannels !== input.channels) {
    throw new Error(`conv2d: input has ${input.channels} channels, weight expects ${inChannels}`);
  }
  const height = Math.floor((input.height + 2 * padding - kernelHeight) / stride) + 1;
  const width = Math.floor((input.width + 2 * padding - kernelWidth) / stride) + 1;
  const data = new Float64Array(outChannels * height * width);
  for (let o = 0; o < outChannels; o++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let sum = bias === undefined ? 0 : bias.data[o];
        for (let c = 0; c < inChannels; c++) {
          for (let ky = 0; ky < kernelHeight; ky++) {
            const sourceY = y * stride + ky - padding;
            if (sourceY < 0 || sourceY >= input.height) continue;
            for (let kx = 0; kx < kernelWidth; kx++) {
              const sourceX = x * stride + kx - padding;
              if (sourceX < 0 || sourceX >= input.width) continue;
              const w = weight.data[((o * inChannels + c) * kernelHeight + ky) * kernelWidth + kx];
              sum += w * input.data[(c * input.height + sourceY) * input.width + sourceX];
            }
          }
        }
        data[(o * height + y) * width + x] = sum;
      }
    }
  }
  return { channels: outChannels, height, width, data };
}

/**
 * Eval-mode BatchNorm2d from the `prefix.{weight,bias,running_mean,running_var}` tensors. A dead padded channel
 * (gamma 0, running_var 0) stays finite because eps is added before the square root.
 */
export function batchNormEval(
  input: FeatureMap,
  tensors: TensorMap,
  prefix: string,
  eps: number,
): FeatureMap {
  const gamma = requireTensor(tensors, `${prefix}.weight`);
  const beta = requireTensor(tensors, `${prefix}.bias`);
  const mean = requireTensor(tensors, `${prefix}.running_mean`);
  const variance = requireTensor(tensors, `${prefix}.running_var`);
  if (gamma.shape[0] !== input.channels) {
    throw new Error(`batchnorm ${prefix}: ${gamma.shape[0]} channels, input has ${input.channels}`);
  }
  const plane = input.height * input.width;
  const data = new Float64Array(input.data.length);
  for (let c = 0; c < input.channels; c++) {
    const scale = gamma.data[c] / Math.sqrt(variance.data[c] + eps);
    for (let p = 0; p < plane; p++) {
      data[c * plane + p] = (input.data[c * plane + p] - mean.data[c]) * scale + beta.data[c];
    }
  }
  return { ...input, data };
}

export function reluMap(input: FeatureMap): FeatureMap {
  return { ...input, data: relu(input.data) };
}

/** torchvision's stem pool, nn.MaxPool2d(kernel_size=3, stride=2, padding=1): padding counts as −∞. */
export function maxPool3x3Stride2Pad1(input: FeatureMap): FeatureMap {
  const out = (size: number) => Math.floor((size + 2 - 3) / 2) + 1;
  const height = out(input.height);
  const width = out(input.width);
  const data = new Float64Array(input.channels * height * width);
  for (let c = 0; c < input.channels; c++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let max = Number.NEGATIVE_INFINITY;
        for (let dy = 0; dy < 3; dy++) {
          for (let dx = 0; dx < 3; dx++) {
            const iy = 2 * y - 1 + dy;
            const ix = 2 * x - 1 + dx;
            if (iy < 0 || ix < 0 || iy >= input.height || ix >= input.width) continue;
            max = Math.max(max, input.data[(c * input.height + iy) * input.width + ix]);
          }
        }
        data[(c * height + y) * width + x] = max;
      }
    }
  }
  return { channels: input.channels, height, width, data };
}

/** MaxPool2d with kernel = stride = `size`, no padding, floor mode. */
export function maxPool2d(input: FeatureMap, size: number): FeatureMap {
  const height = Math.floor(input.height / size);
  const width = Math.floor(input.width / size);
  const data = new Float64Array(input.channels * height * width);
  for (let c = 0; c < input.channels; c++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let max = Number.NEGATIVE_INFINITY;
        for (let dy = 0; dy < size; dy++) {
          for (let dx = 0; dx < size; dx++) {
            max = Math.max(max, input.data[(c * input.height + y * size + dy) * input.width + x * size + dx]);
          }
        }
        data[(c * height + y) * width + x] = max;
      }
    }
  }
  return { channels: input.channels, height, width, data };
}

function imageFrom(input: Float64Array, channels: number, side: number): FeatureMap {
  if (input.length !== channels * side * side) {
    throw new Error(
      `reference forward: image has ${input.length} values, expected ${channels}×${side}×${side}`,
    );
  }
  return { channels, height: side, width: side, data: input };
}

/** Dense layers in order with ReLU between them (not after the last). */
function denseStack(tensors: TensorMap, prefixes: readonly string[], x: Float64Array): Float64Array {
  prefixes.forEach((prefix, index) => {
    x = linear(x, requireTensor(tensors, `${prefix}.weight`), tensors.get(`${prefix}.bias`));
    if (index < prefixes.length - 1) x = relu(x);
  });
  return x;
}

// ---------------------------------------------------------------------------------------------------------
// Models

/**
 * MLP: every rank-2 `*.weight` in the map, in natural name order (`layers.N`, `fcN`, `net.N` alike), each with
 * its `.bias` when present, ReLU between. The config is not read.
 */
export function mlpForward(
  tensors: TensorMap,
  _config: ReferenceConfig,
  inputs: readonly Float64Array[],
): Float64Array[] {
  const prefixes = denseChain(tensors, '');
  if (prefixes.length === 0) throw new Error('mlpForward: no rank-2 weights');
  return inputs.map((x) => denseStack(tensors, prefixes, x));
}

export interface ImageForwardOptions {
  /** Square input side; default `config.image_size`. */
  readonly imageSize?: number;
}

/**
 * VGG-style CNN: `features.N` modules in index order; a rank-4 weight is a conv (stride 1, padding
 * `(k−1)/2`), a module with `running_var` is an eval BatchNorm (eps `config.batch_norm_eps`, default 1e-5).
 * Each conv, with the BatchNorm that follows it, is followed by ReLU and a max-pool of `config.pool_kernel`
 * (default 2). Then the map is flattened channel-major and the rank-2 `classifier.*` weights run in index
 * order with ReLU between. Input channels are read from the first conv weight.
 */
export function vggForward(
  tensors: TensorMap,
  config: ReferenceConfig,
  images: readonly Float64Array[],
  options: ImageForwardOptions = {},
): Float64Array[] {
  const side = options.imageSize ?? configNumber(config, 'image_size');
  const eps = configNumber(config, 'batch_norm_eps', 1e-5);
  const pool = configNumber(config, 'pool_kernel', 2);
  const moduleIndices = new Set<number>();
  for (const name of tensors.keys()) {
    const match = /^features\.(\d+)\./.exec(name);
    if (match !== null) moduleIndices.add(Number(match[1]));
  }
  const modules = [...moduleIndices].sort((a, b) => a - b);
  const firstConv = modules.find((index) => tensors.get(`features.${index}.weight`)?.shape.length === 4);
  if (firstConv === undefined) throw new Error('vggForward: no convolution under features.');
  const inChannels = requireTensor(tensors, `features.${firstConv}.weight`).shape[1];
  const classifier = denseChain(tensors, 'classifier.');
  return images.map((image) => {
    let map = imageFrom(image, inChannels, side);
    let blockOpen = false;
    for (const index of modules) {
      const prefix = `features.${index}`;
      const weight = tensors.get(`${prefix}.weight`);
      if (weight !== undefined && weight.shape.length === 4) {
        if (blockOpen) map = maxPool2d(reluMap(map), pool);
        map = conv2d(map, weight, tensors.get(`${prefix}.bias`), 1, (weight.shape[2] - 1) / 2);
        blockOpen = true;
      } else if (tensors.has(`${prefix}.running_var`)) {
        map = batchNormEval(map, tensors, prefix, eps);
      } else {
        throw new Error(`vggForward: ${prefix} is neither a conv nor a BatchNorm`);
      }
    }
    if (blockOpen) map = maxPool2d(reluMap(map), pool);
    return denseStack(tensors, classifier, map.data);
  });
}

export interface ResNetForwardOptions extends ImageForwardOptions {
  /** Stride of each stage's first block; default `config.strides` ("1,2,2"). */
  readonly strides?: readonly number[];
}

/**
 * torchvision ResNet with BasicBlocks, eval mode. Stem: `conv1` (stride `config.stem_stride`, default 1;
 * padding `(k−1)/2`) + `bn1` + ReLU, then a 3×3 stride-2 padding-1 max-pool when `config.stem_pool` is 'max'. Stages `layerS` (S from 1) and blocks `layerS.B` are found by
 * name; a stage's first block uses the stage stride for conv1 and for `downsample.0` (1×1, padding 0), later
 * blocks stride 1; 3×3 convs use padding 1. Block: relu(bn2(conv2(relu(bn1(conv1 x)))) + shortcut).
 * Global average pool, then `fc`. BatchNorm eps `config.batch_norm_eps`, default 1e-5.
 */
export function resnetForward(
  tensors: TensorMap,
  config: ReferenceConfig,
  images: readonly Float64Array[],
  options: ResNetForwardOptions = {},
): Float64Array[] {
  const side = options.imageSize ?? configNumber(config, 'image_size');
  const eps = configNumber(config, 'batch_norm_eps', 1e-5);
  const stemStride = configNumber(config, 'stem_stride', 1);
  const strides = options.strides ?? configNumberList(config, 'strides');
  const stem = requireTensor(tensors, 'conv1.weight');
  requireRank(stem, 4, 'conv1.weight');
  const stages: number[] = [];
  for (let stage = 1; tensors.has(`layer${stage}.0.conv1.weight`); stage++) {
    let blocks = 0;
    while (tensors.has(`layer${stage}.${blocks}.conv1.weight`)) blocks++;
    stages.push(blocks);
  }
  if (strides.length < stages.length) {
    throw new Error(`resnetForward: ${stages.length} stages but only ${strides.length} strides`);
  }
  const convBn = (map: FeatureMap, convName: string, bnPrefix: string, stride: number): FeatureMap => {
    const weight = requireTensor(tensors, convName);
    requireRank(weight, 4, convName);
    const convolved = conv2d(
      map,
      weight,
      tensors.get(convName.replace(/weight$/, 'bias')),
      stride,
      (weight.shape[2] - 1) / 2,
    );
    return batchNormEval(convolved, tensors, bnPrefix, eps);
  };
  return images.map((image) => {
    let map = reluMap(convBn(imageFrom(image, stem.shape[1], side), 'conv1.weight', 'bn1', stemStride));
    if (config['stem_pool'] === 'max') map = maxPool3x3Stride2Pad1(map);
    stages.forEach((blocks, stageIndex) => {
      for (let block = 0; block < blocks; block++) {
        const prefix = `layer${stageIndex + 1}.${block}`;
        const stride = block === 0 ? strides[stageIndex] : 1;
        const inner = reluMap(convBn(map, `${prefix}.conv1.weight`, `${prefix}.bn1`, stride));
        const residual = convBn(inner, `${prefix}.conv2.weight`, `${prefix}.bn2`, 1);
        let shortcut = map;
        if (tensors.has(`${prefix}.downsample.0.weight`)) {
          shortcut = convBn(map, `${prefix}.downsample.0.weight`, `${prefix}.downsample.1`, stride);
        }
        if (shortcut.data.length !== residual.data.length) {
          throw new Error(`resnetForward: ${prefix} changes shape but has no downsample`);
        }
        map = reluMap({ ...residual, data: residual.data.map((v, i) => v + shortcut.data[i]) });
      }
    });
    const plane = map.height * map.width;
    const pooled = new Float64Array(map.channels);
    for (let c = 0; c < map.channels; c++) {
      let sum = 0;
      for (let p = 0; p < plane; p++) sum += map.data[c * plane + p];
      pooled[c] = sum / plane;
    }
    return linear(pooled, requireTensor(tensors, 'fc.weight'), tensors.get('fc.bias'));
  });
}

export interface TransformerForwardOptions {
  /** Entries per head. Default: `config.head_dim` if present, else `n_embd / n_head` (GPT-2) or
   * `hidden_size / num_attention_heads` (LLaMA). Head counts are then the projection widths over this. */
  readonly headDim?: number;
}

function gpt2HeadDim(config: ReferenceConfig, options: TransformerForwardOptions): number {
  if (options.headDim !== undefined) return options.headDim;
  if (config['head_dim'] !== undefined) return configNumber(config, 'head_dim');
  return configNumber(config, 'n_embd') / configNumber(config, 'n_head');
}

function wholeHeads(width: number, headDim: number, what: string): number {
  const heads = width / headDim;
  if (!Number.isInteger(heads) || heads < 1) {
    throw new Error(`reference forward: ${what} width ${width} is not a whole number of heads of ${headDim}`);
  }
  return heads;
}

function embeddingRow(table: FloatTensor, row: number): Float64Array {
  const [rows, width] = table.shape;
  if (!Number.isInteger(row) || row < 0 || row >= rows) {
    throw new Error(`reference forward: index ${row} outside an embedding of ${rows} rows`);
  }
  return Float64Array.from(table.data.subarray(row * width, (row + 1) * width));
}

function addInPlace(target: Float64Array, addend: Float64Array): void {
  if (target.length !== addend.length) throw new Error('reference forward: residual width mismatch');
  for (let i = 0; i < target.length; i++) target[i] += addend[i];
}

/**
 * GPT-2 (Hugging Face GPT2LMHeadModel), pre-LayerNorm blocks, eps `config.layer_norm_epsilon` (default 1e-5),
 * GELU tanh approximation, causal attention. `c_attn`'s output splits into three equal parts q|k|v, each a run
 * of contiguous heads of headDim; the head count is the part width over headDim, so a model with added (dead)
 * heads runs as is. Logits use `lm_head.weight` when present, else the tied `transformer.wte.weight`.
 */
export function gpt2Forward(
  tensors: TensorMap,
  config: ReferenceConfig,
  tokens: readonly number[],
  options: TransformerForwardOptions = {},
): Float64Array[] {
  const eps = configNumber(config, 'layer_norm_epsilon', 1e-5);
  const headDim = gpt2HeadDim(config, options);
  const tensor = (name: string): FloatTensor => requireTensor(tensors, name);
  const wte = tensor('transformer.wte.weight');
  const wpe = tensor('transformer.wpe.weight');
  const hidden = tokens.map((token, position) => {
    const row = embeddingRow(wte, token);
    addInPlace(row, embeddingRow(wpe, position));
    return row;
  });
  for (let layer = 0; tensors.has(`transformer.h.${layer}.ln_1.weight`); layer++) {
    const prefix = `transformer.h.${layer}`;
    const cAttn = tensor(`${prefix}.attn.c_attn.weight`);
    const attentionWidth = cAttn.shape[1] / 3;
    const nHead = wholeHeads(attentionWidth, headDim, `${prefix}.attn.c_attn`);
    const queries: Float64Array[] = [];
    const keys: Float64Array[] = [];
    const values: Float64Array[] = [];
    for (const h of hidden) {
      const normed = layerNorm(h, tensor(`${prefix}.ln_1.weight`), tensor(`${prefix}.ln_1.bias`), eps);
      const qkv = conv1dGpt2(normed, cAttn, tensors.get(`${prefix}.attn.c_attn.bias`));
      queries.push(qkv.slice(0, attentionWidth));
      keys.push(qkv.slice(attentionWidth, 2 * attentionWidth));
      values.push(qkv.slice(2 * attentionWidth, 3 * attentionWidth));
    }
    // Hugging Face's GPT2Attention: scores over √headDim unless scale_attn_weights is false, and over
    // layer_idx + 1 when scale_attn_by_inverse_layer_idx is set.
    let scale = configNumber(config, 'scale_attn_weights', 1) === 0 ? 1 : 1 / Math.sqrt(headDim);
    if (configNumber(config, 'scale_attn_by_inverse_layer_idx', 0) === 1) scale /= layer + 1;
    const attended = causalSelfAttention(queries, keys, values, nHead, nHead, headDim, undefined, scale);
    hidden.forEach((h, t) => {
      addInPlace(
        h,
        conv1dGpt2(
          attended[t],
          tensor(`${prefix}.attn.c_proj.weight`),
          tensors.get(`${prefix}.attn.c_proj.bias`),
        ),
      );
      const normed = layerNorm(h, tensor(`${prefix}.ln_2.weight`), tensor(`${prefix}.ln_2.bias`), eps);
      const inner = conv1dGpt2(
        normed,
        tensor(`${prefix}.mlp.c_fc.weight`),
        tensors.get(`${prefix}.mlp.c_fc.bias`),
      );
      addInPlace(
        h,
        conv1dGpt2(
          inner.map(geluTanh),
          tensor(`${prefix}.mlp.c_proj.weight`),
          tensors.get(`${prefix}.mlp.c_proj.bias`),
        ),
      );
    });
  }
  const head = tensors.get('lm_head.weight') ?? wte;
  return hidden.map((h) =>
    linear(layerNorm(h, tensor('transformer.ln_f.weight'), tensor('transformer.ln_f.bias'), eps), head),
  );
}

/**
 * RoPE's inverse frequencies as Hugging Face's rope init functions compute them, written after their code:
 * default (and dynamic, which equals it up to the original context), linear, and llama3's `torch.where` blend.
 */
function referenceRopeFrequencies(config: ReferenceConfig, headDim: number): Float64Array {
  const base = configNumber(config, 'rope_theta', 10000);
  const invFreq = Float64Array.from({ length: headDim / 2 }, (_, j) => 1 / base ** ((2 * j) / headDim));
  const type = config['rope_scaling'];
  if (type === undefined || type === 'default' || type === 'dynamic') return invFreq;
  const factor = configNumber(config, 'rope_scaling.factor');
  if (type === 'linear') return invFreq.map((f) => f / factor);
  if (type !== 'llama3') throw new Error(`reference forward: rope_scaling ${type} is not in the reference`);
  const lowFreqFactor = configNumber(config, 'rope_scaling.low_freq_factor');
  const highFreqFactor = configNumber(config, 'rope_scaling.high_freq_factor');
  const oldContextLen = configNumber(config, 'rope_scaling.original_max_position_embeddings');
  const lowFreqWavelen = oldContextLen / lowFreqFactor;
  const highFreqWavelen = oldContextLen / highFreqFactor;
  return invFreq.map((f) => {
    const wavelen = (2 * Math.PI) / f;
    const invFreqLlama = wavelen > lowFreqWavelen ? f / factor : f;
    const smoothFactor = (oldContextLen / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
    const smoothed = ((1 - smoothFactor) * invFreqLlama) / factor + smoothFactor * invFreqLlama;
    const isMediumFreq = !(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen);
    return isMediumFreq ? smoothed : invFreqLlama;
  });
}

function llamaHeadDim(config: ReferenceConfig, options: TransformerForwardOptions): number {
  if (options.headDim !== undefined) return options.headDim;
  if (config['head_dim'] !== undefined) return configNumber(config, 'head_dim');
  return configNumber(config, 'hidden_size') / configNumber(config, 'num_attention_heads');
}

/**
 * LLaMA (Hugging Face LlamaForCausalLM): RMSNorm (eps `config.rms_norm_eps`, default 1e-6), RoPE with
 * `config.rope_theta` (default 10000, rescaled by `rope_scaling` flattened as forwardConfigOf does) on q and k per head, grouped-query attention, SwiGLU MLP
 * `down(silu(gate x) · up x)`, no biases (a `.bias` is used if present). Head counts are q_proj's and
 * k_proj's output widths over headDim, so models with added (dead) heads run as is. Logits use
 * `lm_head.weight` when present, else the tied `model.embed_tokens.weight`.
 */
export function llamaForward(
  tensors: TensorMap,
  config: ReferenceConfig,
  tokens: readonly number[],
  options: TransformerForwardOptions = {},
): Float64Array[] {
  const eps = configNumber(config, 'rms_norm_eps', 1e-6);
  const theta = configNumber(config, 'rope_theta', 10000);
  const headDim = llamaHeadDim(config, options);
  const frequencies = referenceRopeFrequencies(config, headDim);
  // Hugging Face's Mistral masks keys `sliding_window` or more positions back; LLaMA and Qwen2 (whose configs
  // carry an unused window) attend to every earlier position.
  const window =
    config['model_type'] === 'mistral' && config['sliding_window'] !== undefined
      ? configNumber(config, 'sliding_window')
      : Number.POSITIVE_INFINITY;
  const tensor = (name: string): FloatTensor => requireTensor(tensors, name);
  const project = (x: Float64Array, name: string): Float64Array =>
    linear(x, tensor(`${name}.weight`), tensors.get(`${name}.bias`));
  const embed = tensor('model.embed_tokens.weight');
  const hidden = tokens.map((token) => embeddingRow(embed, token));
  const rotateHeads = (x: Float64Array, heads: number, position: number): Float64Array => {
    const rotated = new Float64Array(x.length);
    for (let h = 0; h < heads; h++) {
      rotated.set(
        applyRope(x.slice(h * headDim, (h + 1) * headDim), position, theta, frequencies),
        h * headDim,
      );
    }
    return rotated;
  };
  for (let layer = 0; tensors.has(`model.layers.${layer}.input_layernorm.weight`); layer++) {
    const prefix = `model.layers.${layer}`;
    const nHead = wholeHeads(tensor(`${prefix}.self_attn.q_proj.weight`).shape[0], headDim, 'q_proj');
    const nKvHead = wholeHeads(tensor(`${prefix}.self_attn.k_proj.weight`).shape[0], headDim, 'k_proj');
    const queries: Float64Array[] = [];
    const keys: Float64Array[] = [];
    const values: Float64Array[] = [];
    hidden.forEach((h, position) => {
      const normed = rmsNorm(h, tensor(`${prefix}.input_layernorm.weight`), eps);
      queries.push(rotateHeads(project(normed, `${prefix}.self_attn.q_proj`), nHead, position));
      keys.push(rotateHeads(project(normed, `${prefix}.self_attn.k_proj`), nKvHead, position));
      values.push(project(normed, `${prefix}.self_attn.v_proj`));
    });
    const attended = causalSelfAttention(queries, keys, values, nHead, nKvHead, headDim, window);
    hidden.forEach((h, t) => {
      addInPlace(h, project(attended[t], `${prefix}.self_attn.o_proj`));
      const normed = rmsNorm(h, tensor(`${prefix}.post_attention_layernorm.weight`), eps);
      const gate = project(normed, `${prefix}.mlp.gate_proj`);
      const up = project(normed, `${prefix}.mlp.up_proj`);
      addInPlace(
        h,
        project(
          gate.map((g, i) => silu(g) * up[i]),
          `${prefix}.mlp.down_proj`,
        ),
      );
    });
  }
  const head = tensors.get('lm_head.weight') ?? embed;
  return hidden.map((h) => linear(rmsNorm(h, tensor('model.norm.weight'), eps), head));
}

/** Largest |a − b| over two equally shaped batches of outputs. */
export function maxAbsDifference(a: readonly Float64Array[], b: readonly Float64Array[]): number {
  if (a.length !== b.length) throw new Error(`maxAbsDifference: ${a.length} rows against ${b.length}`);
  let max = 0;
  a.forEach((row, r) => {
    if (row.length !== b[r].length) throw new Error(`maxAbsDifference: row ${r} lengths differ`);
    for (let i = 0; i < row.length; i++) max = Math.max(max, Math.abs(row[i] - b[r][i]));
  });
  return max;
}
