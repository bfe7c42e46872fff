/**
 * The reference forward passes against cases small enough to compute by hand. Every expected number below is
 * worked out in the comments or written as the arithmetic itself, never taken from the code under test.
 */
import { describe, expect, it } from 'vitest';
import type { FloatTensor } from '../../src/tensor/tensor.js';
import {
  applyRope,
  batchNormEval,
  causalSelfAttention,
  conv1dGpt2,
  conv2d,
  type FeatureMap,
  geluTanh,
  gpt2Forward,
  layerNorm,
  linear,
  llamaForward,
  maxPool2d,
  mlpForward,
  naturalCompare,
  resnetForward,
  rmsNorm,
  silu,
  softmax,
  vggForward,
} from './reference-forward.js';

function t(shape: number[], values: number[]): FloatTensor {
  return { shape, data: Float32Array.from(values) };
}

function expectClose(actual: ArrayLike<number>, expected: readonly number[], tolerance = 1e-9): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i] - expected[i])).toBeLessThan(tolerance);
}

const image4x4: FeatureMap = {
  channels: 1,
  height: 4,
  width: 4,
  data: Float64Array.from({ length: 16 }, (_, i) => i + 1),
};

describe('primitives', () => {
  it('orders names with numbers numerically', () => {
    const names = ['layers.10', 'layers.2', 'fc10', 'fc2', 'net.0'];
    expect([...names].sort(naturalCompare)).toEqual(['fc2', 'fc10', 'layers.2', 'layers.10', 'net.0']);
  });

  it('linear uses [out, in] and Conv1D uses [in, out]', () => {
    // W = [[1, 2, 3], [4, 5, 6]], x = [1, 0, -1]: W·x = [1 − 3, 4 − 6] = [−2, −2]; + b [0.5, 1].
    const x = Float64Array.from([1, 0, -1]);
    expectClose(linear(x, t([2, 3], [1, 2, 3, 4, 5, 6]), t([2], [0.5, 1])), [-1.5, -1]);
    // Conv1D W [3, 2] = [[1, 4], [2, 5], [3, 6]] is the transpose, so x·W is the same [−2, −2].
    expectClose(conv1dGpt2(x, t([3, 2], [1, 4, 2, 5, 3, 6])), [-2, -2]);
  });

  it('conv2d with an all-ones 3×3 kernel and padding 1 sums each neighbourhood', () => {
    // Image rows 1..4 / 5..8 / 9..12 / 13..16; each output is the sum of the in-bounds 3×3 window.
    const out = conv2d(image4x4, t([1, 1, 3, 3], new Array(9).fill(1)), undefined, 1, 1);
    expect([out.channels, out.height, out.width]).toEqual([1, 4, 4]);
    expectClose(out.data, [14, 24, 30, 22, 33, 54, 63, 45, 57, 90, 99, 69, 46, 72, 78, 54]);
  });

  it('conv2d is a cross-correlation (no kernel flip), with bias', () => {
    // Only the kernel's top-middle tap is set, so out[y][x] = in[y−1][x] (zero above the top row), plus 10.
    const kernel = t([1, 1, 3, 3], [0, 1, 0, 0, 0, 0, 0, 0, 0]);
    const out = conv2d(image4x4, kernel, t([1], [10]), 1, 1);
    expectClose(out.data, [10, 10, 10, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22]);
  });

  it('conv2d with stride 2 samples every other window', () => {
    // Windows centred at (0,0), (0,2), (2,0), (2,2) of the all-ones case above.
    const out = conv2d(image4x4, t([1, 1, 3, 3], new Array(9).fill(1)), undefined, 2, 1);
    expect([out.height, out.width]).toEqual([2, 2]);
    expectClose(out.data, [14, 30, 57, 99]);
  });

  it('conv2d sums over input channels and writes each output channel', () => {
    // Two input channels (the image and its negation ×2), 1×1 kernels: out0 = 1·a + 1·b = −a, out1 = 3·a.
    const twoChannels: FeatureMap = {
      channels: 2,
      height: 1,
      width: 2,
      data: Float64Array.from([1, 2, -2, -4]),
    };
    const out = conv2d(twoChannels, t([2, 2, 1, 1], [1, 1, 3, 0]), undefined, 1, 0);
    expectClose(out.data, [-1, -2, 3, 6]);
  });

  it('max-pool 2×2 keeps the largest of each window', () => {
    expectClose(maxPool2d(image4x4, 2).data, [6, 8, 14, 16]);
  });

  it('eval BatchNorm normalizes with running statistics and stays finite on a dead channel', () => {
    const tensors = new Map<string, FloatTensor>([
      ['bn.weight', t([2], [2, 0])],
      ['bn.bias', t([2], [0.5, 0])],
      ['bn.running_mean', t([2], [1, 0])],
      ['bn.running_var', t([2], [3, 0])],
    ]);
    const input: FeatureMap = { channels: 2, height: 1, width: 1, data: Float64Array.from([3, 7]) };
    const out = batchNormEval(input, tensors, 'bn', 1e-5);
    // (3 − 1) / sqrt(3 + 1e-5) · 2 + 0.5; the dead channel: (7 − 0) / sqrt(1e-5) · 0 + 0 = 0.
    expectClose(out.data, [(2 / Math.sqrt(3.00001)) * 2 + 0.5, 0]);
  });

  it('LayerNorm of [1, 2, 3, 4]', () => {
    // mean 2.5, biased variance (2.25 + 0.25 + 0.25 + 2.25) / 4 = 1.25.
    const s = 1 / Math.sqrt(1.25 + 1e-5);
    const out = layerNorm(Float64Array.from([1, 2, 3, 4]), t([4], [1, 1, 2, 1]), t([4], [0, 0, 0, 1]), 1e-5);
    expectClose(out, [-1.5 * s, -0.5 * s, 0.5 * s * 2, 1.5 * s + 1]);
  });

  it('RMSNorm of [1, 2, 3, 4]', () => {
    // mean square (1 + 4 + 9 + 16) / 4 = 7.5.
    const s = 1 / Math.sqrt(7.5 + 1e-6);
    expectClose(rmsNorm(Float64Array.from([1, 2, 3, 4]), t([4], [1, 1, 1, 0.5]), 1e-6), [
      s,
      2 * s,
      3 * s,
      2 * s,
    ]);
  });

  it('GELU (tanh) and SiLU at known points', () => {
    // PyTorch gelu(x, approximate='tanh'): 0.8411920 at 1, −0.1588080 at −1, 0 at 0.
    expect(geluTanh(1)).toBeCloseTo(0.841192, 6);
    expect(geluTanh(-1)).toBeCloseTo(-0.158808, 6);
    expect(geluTanh(0)).toBe(0);
    // silu(1) = 1 / (1 + e^−1) = 0.7310586.
    expect(silu(1)).toBeCloseTo(0.7310586, 7);
  });

  it('softmax of [0, ln 3] is [1/4, 3/4]', () => {
    expectClose(softmax([0, Math.log(3)]), [0.25, 0.75], 1e-12);
  });

  it('RoPE at position 1 rotates pair (i, i + d/2) by theta^(−2i/d)', () => {
    // d = 4, theta = 10000: frequencies 1 and 10000^(−1/2) = 0.01; pairs (x0, x2) and (x1, x3).
    const out = applyRope(Float64Array.from([1, 2, 3, 4]), 1, 10000);
    expectClose(out, [
      1 * Math.cos(1) - 3 * Math.sin(1),
      2 * Math.cos(0.01) - 4 * Math.sin(0.01),
      3 * Math.cos(1) + 1 * Math.sin(1),
      4 * Math.cos(0.01) + 2 * Math.sin(0.01),
    ]);
    // Position 0 is the identity.
    expectClose(applyRope(Float64Array.from([1, 2, 3, 4]), 0, 10000), [1, 2, 3, 4]);
  });

  it('causal attention with T = 2, one head', () => {
    // headDim 2, scale 1/√2. Position 0 sees only itself: out0 = v0.
    // Position 1: scores q1·k0/√2 = 0 and q1·k1/√2 = 2/√2 = √2; weights 1/(1+e^√2), e^√2/(1+e^√2).
    const q = [Float64Array.from([1, 0]), Float64Array.from([0, 2])];
    const k = [Float64Array.from([1, 0]), Float64Array.from([0, 1])];
    const v = [Float64Array.from([1, 2]), Float64Array.from([3, -1])];
    const out = causalSelfAttention(q, k, v, 1, 1, 2);
    const w1 = Math.exp(Math.SQRT2) / (1 + Math.exp(Math.SQRT2));
    const w0 = 1 - w1;
    expectClose(out[0], [1, 2]);
    expectClose(out[1], [w0 * 1 + w1 * 3, w0 * 2 + w1 * -1]);
  });

  it('grouped-query attention: two query heads share one kv head', () => {
    // headDim 1. Head 0 queries 0 (uniform weights), head 1 queries 1 (scores 1·k/1 = [1, 2]).
    const q = [Float64Array.from([0, 1]), Float64Array.from([0, 1])];
    const k = [Float64Array.from([1]), Float64Array.from([2])];
    const v = [Float64Array.from([10]), Float64Array.from([20])];
    const out = causalSelfAttention(q, k, v, 2, 1, 1);
    expectClose(out[0], [10, 10]);
    const w = Math.exp(2) / (Math.exp(1) + Math.exp(2));
    expectClose(out[1], [15, (1 - w) * 10 + w * 20]);
  });
});

describe('whole models on hand-sized weights', () => {
  const mlpLayers: [string, FloatTensor][] = [
    ['.weight', t([2, 2], [1, -1, 2, 0.5])],
    ['.bias', t([2], [0, -1])],
  ];
  const mlpHead: [string, FloatTensor][] = [
    ['.weight', t([2, 2], [1, 1, -1, 3])],
    ['.bias', t([2], [0.5, 0])],
  ];

  it('2-2-2 MLP under every naming', () => {
    // x = [1, 2]: W1x + b1 = [1 − 2, 2 + 1 − 1] = [−1, 2] → ReLU [0, 2]; W2h + b2 = [2 + 0.5, 6] = [2.5, 6].
    for (const [first, second] of [
      ['layers.0', 'layers.1'],
      ['fc1', 'fc2'],
      ['net.0', 'net.2'],
    ]) {
      const tensors = new Map<string, FloatTensor>([
        ...mlpLayers.map(([suffix, tensor]): [string, FloatTensor] => [first + suffix, tensor]),
        ...mlpHead.map(([suffix, tensor]): [string, FloatTensor] => [second + suffix, tensor]),
      ]);
      const [out] = mlpForward(tensors, {}, [Float64Array.from([1, 2])]);
      expectClose(out, [2.5, 6]);
    }
  });

  it('MLP chain order is numeric, not lexicographic (layers.10 after layers.9)', () => {
    // Eleven 1×1 layers: all weights 1 except layers.10 = −1, bias 0, so only the last may be negative.
    // In order: x = 2 passes ten identity ReLU layers and ends at −2. Sorted as strings, layers.10 would come
    // third (after layers.0, layers.1) and a later ReLU would clamp the result to 0.
    const tensors = new Map<string, FloatTensor>();
    for (let i = 0; i <= 10; i++) tensors.set(`layers.${i}.weight`, t([1, 1], [i === 10 ? -1 : 1]));
    expectClose(mlpForward(tensors, {}, [Float64Array.from([2])])[0], [-2]);
  });

  it('VGG block: conv, BatchNorm, ReLU, max-pool, flatten, classifier', () => {
    // 1 channel 4×4 image 1..16, all-ones 3×3 kernel, bias −50: the neighbourhood sums minus 50 are
    // [−36 −26 −20 −28 / −17 4 13 −5 / 7 40 49 19 / −4 22 28 4]. BatchNorm with mean 0, var 1 − 1e-5
    // (so sqrt(var + eps) = 1 up to float32 rounding of var), gamma 1, beta 0 leaves them. ReLU then the 2×2
    // max-pool gives [4, 13, 40, 49]. classifier.0 [1, 4] = [1, −1, 0, 0.5] + 1: 4 − 13 + 24.5 + 1 = 16.5.
    const variance = Math.fround(1 - 1e-5);
    const tensors = new Map<string, FloatTensor>([
      ['features.0.weight', t([1, 1, 3, 3], new Array(9).fill(1))],
      ['features.0.bias', t([1], [-50])],
      ['features.1.weight', t([1], [1])],
      ['features.1.bias', t([1], [0])],
      ['features.1.running_mean', t([1], [0])],
      ['features.1.running_var', t([1], [variance])],
      ['classifier.0.weight', t([1, 4], [1, -1, 0, 0.5])],
      ['classifier.0.bias', t([1], [1])],
    ]);
    const [out] = vggForward(tensors, { image_size: 4 }, [
      Float64Array.from({ length: 16 }, (_, i) => i + 1),
    ]);
    const bnScale = 1 / Math.sqrt(variance + 1e-5);
    expectClose(out, [(4 - 13 + 0.5 * 49) * bnScale + 1], 1e-9);
  });

  it('ResNet: stem, one block with identity shortcut, global average pool, fc', () => {
    // One channel, 2×2 image [1, 2, 3, 4], 1×1 convs (padding 0), all BatchNorms the identity up to eps
    // (var chosen so var + eps = 1 in float64 up to float32 rounding). Stem: ×1 → [1, 2, 3, 4], ReLU.
    // Block: conv1 ×(−1) → ReLU → 0; conv2 ×5 → 0; + shortcut → [1, 2, 3, 4]. Average 2.5; fc ×2 + 1 = 6.
    const variance = Math.fround(1 - 1e-5);
    const bn = (prefix: string): [string, FloatTensor][] => [
      [`${prefix}.weight`, t([1], [1])],
      [`${prefix}.bias`, t([1], [0])],
      [`${prefix}.running_mean`, t([1], [0])],
      [`${prefix}.running_var`, t([1], [variance])],
    ];
    const tensors = new Map<string, FloatTensor>([
      ['conv1.weight', t([1, 1, 1, 1], [1])],
      ...bn('bn1'),
      ['layer1.0.conv1.weight', t([1, 1, 1, 1], [-1])],
      ...bn('layer1.0.bn1'),
      ['layer1.0.conv2.weight', t([1, 1, 1, 1], [5])],
      ...bn('layer1.0.bn2'),
      ['fc.weight', t([1, 1], [2])],
      ['fc.bias', t([1], [1])],
    ]);
    const [out] = resnetForward(tensors, { image_size: 2, strides: '1' }, [Float64Array.from([1, 2, 3, 4])]);
    const s = 1 / Math.sqrt(variance + 1e-5);
    expectClose(out, [2 * 2.5 * s + 1], 1e-9);
  });

  it('ResNet: strided block with a downsample shortcut', () => {
    // 4×4 image 1..16, one channel, stride 2. conv1 1×1 ×0 → 0 → conv2 → 0. downsample 1×1 stride 2 picks
    // (0,0), (0,2), (2,0), (2,2) = [1, 3, 9, 11]; ×2 → [2, 6, 18, 22]; ReLU; average 12; fc ×1 → 12.
    // BatchNorms: exact identity is impossible with eps, so var = 1 − 1e-5 (float32) and the scale is s.
    const variance = Math.fround(1 - 1e-5);
    const s = 1 / Math.sqrt(variance + 1e-5);
    const bn = (prefix: string): [string, FloatTensor][] => [
      [`${prefix}.weight`, t([1], [1])],
      [`${prefix}.bias`, t([1], [0])],
      [`${prefix}.running_mean`, t([1], [0])],
      [`${prefix}.running_var`, t([1], [variance])],
    ];
    const tensors = new Map<string, FloatTensor>([
      ['conv1.weight', t([1, 1, 1, 1], [1])],
      ...bn('bn1'),
      ['layer1.0.conv1.weight', t([1, 1, 1, 1], [0])],
      ...bn('layer1.0.bn1'),
      ['layer1.0.conv2.weight', t([1, 1, 1, 1], [1])],
      ...bn('layer1.0.bn2'),
      ['layer1.0.downsample.0.weight', t([1, 1, 1, 1], [2])],
      ...bn('layer1.0.downsample.1'),
      ['fc.weight', t([1, 1], [1])],
    ]);
    const [out] = resnetForward(tensors, { image_size: 4, strides: '2' }, [
      Float64Array.from({ length: 16 }, (_, i) => i + 1),
    ]);
    // Stem scale s, downsample BatchNorm scale s again.
    expectClose(out, [12 * s * s], 1e-9);
  });

  it('GPT-2 with zero blocks: embeddings, final LayerNorm, tied head', () => {
    // wte rows [1, 3], [2, 0]; wpe rows [0, 1], [1, 1]; tokens [0, 1]: h0 = [1, 4], h1 = [3, 1].
    // LayerNorm of a pair [a, b] is [−1, 1]·|a−b|/2 / sqrt(((a−b)/2)² + eps) (sign by order):
    // h0 → [−σ0, σ0], σ0 = 1.5/sqrt(2.25 + eps); h1 → [σ1, −σ1], σ1 = 1/sqrt(1 + eps).
    // Tied head (no lm_head.weight): logits = [wte0·n, wte1·n]: h0 → [2σ0, −2σ0], h1 → [−2σ1, 2σ1].
    const tensors = new Map<string, FloatTensor>([
      ['transformer.wte.weight', t([2, 2], [1, 3, 2, 0])],
      ['transformer.wpe.weight', t([2, 2], [0, 1, 1, 1])],
      ['transformer.ln_f.weight', t([2], [1, 1])],
      ['transformer.ln_f.bias', t([2], [0, 0])],
    ]);
    const out = gpt2Forward(tensors, { n_embd: 2, n_head: 1 }, [0, 1]);
    const sigma0 = 1.5 / Math.sqrt(2.25 + 1e-5);
    const sigma1 = 1 / Math.sqrt(1 + 1e-5);
    expectClose(out[0], [2 * sigma0, -2 * sigma0]);
    expectClose(out[1], [-2 * sigma1, 2 * sigma1]);
  });

  it('GPT-2 block with only biases: the attention and MLP adds are hand-computable', () => {
    // d = 2, one head, one token 0 with h = wte0 + wpe0 = [1, 0]. All weights zero, so:
    // attention output = v = c_attn.bias[v part] = [0, 0] → c_proj gives its bias [1, 2]; h = [2, 2].
    // MLP: c_fc output = its bias [1, −1] → GELU [0.841192, −0.158808] → c_proj weight [2, 2] = I, bias 0:
    // h = [2.841192, 1.841192]. ln_f with gamma 1, beta 0: a pair with difference 1 → [σ, −σ],
    // σ = 0.5/sqrt(0.25 + eps). lm_head [[1, 0]]: logit σ.
    const zeros = (n: number): number[] => new Array(n).fill(0);
    const tensors = new Map<string, FloatTensor>([
      ['transformer.wte.weight', t([1, 2], [1, 0])],
      ['transformer.wpe.weight', t([1, 2], [0, 0])],
      ['transformer.h.0.ln_1.weight', t([2], [1, 1])],
      ['transformer.h.0.ln_1.bias', t([2], [0, 0])],
      ['transformer.h.0.attn.c_attn.weight', t([2, 6], zeros(12))],
      ['transformer.h.0.attn.c_attn.bias', t([6], zeros(6))],
      ['transformer.h.0.attn.c_proj.weight', t([2, 2], zeros(4))],
      ['transformer.h.0.attn.c_proj.bias', t([2], [1, 2])],
      ['transformer.h.0.ln_2.weight', t([2], [1, 1])],
      ['transformer.h.0.ln_2.bias', t([2], [0, 0])],
      ['transformer.h.0.mlp.c_fc.weight', t([2, 2], zeros(4))],
      ['transformer.h.0.mlp.c_fc.bias', t([2], [1, -1])],
      ['transformer.h.0.mlp.c_proj.weight', t([2, 2], [1, 0, 0, 1])],
      ['transformer.h.0.mlp.c_proj.bias', t([2], [0, 0])],
      ['transformer.ln_f.weight', t([2], [1, 1])],
      ['transformer.ln_f.bias', t([2], [0, 0])],
      ['lm_head.weight', t([1, 2], [1, 0])],
    ]);
    const [out] = gpt2Forward(tensors, { n_embd: 2, n_head: 1 }, [0]);
    expectClose(out, [0.5 / Math.sqrt(0.25 + 1e-5)], 1e-9);
  });

  it('LLaMA with zero layers: embedding, RMSNorm, lm_head', () => {
    // embed row 1 = [3, 4]: mean square 12.5; norm weight [1, 2]: [3s, 8s], s = 1/sqrt(12.5 + 1e-6).
    // lm_head [[1, 1], [0, 1]] → [11s, 8s].
    const tensors = new Map<string, FloatTensor>([
      ['model.embed_tokens.weight', t([2, 2], [1, 0, 3, 4])],
      ['model.norm.weight', t([2], [1, 2])],
      ['lm_head.weight', t([2, 2], [1, 1, 0, 1])],
    ]);
    const [out] = llamaForward(tensors, { hidden_size: 2, num_attention_heads: 1, rms_norm_eps: 1e-6 }, [1]);
    const s = 1 / Math.sqrt(12.5 + 1e-6);
    expectClose(out, [11 * s, 8 * s]);
  });
});
