import { describe, expect, it } from 'vitest';
import type { FloatTensor } from '../../src/tensor/tensor.js';
import {
  makeGpt2,
  makeLlama,
  makeMlp,
  makeResNet,
  makeVggCnn,
  randomImages,
  randomTokens,
  randomVectors,
} from './model-factory.js';
import { gpt2Forward, llamaForward, mlpForward, resnetForward, vggForward } from './reference-forward.js';

function shapes(tensors: Map<string, FloatTensor>): Record<string, readonly number[]> {
  const result: Record<string, readonly number[]> = {};
  for (const [name, tensor] of tensors) {
    let count = 1;
    for (const d of tensor.shape) count *= d;
    expect(tensor.data.length, name).toBe(count);
    result[name] = tensor.shape;
  }
  return result;
}

/** Root mean square of all outputs: the scaling keeps it O(1), neither vanishing nor exploding. */
function rootMeanSquare(rows: readonly Float64Array[]): number {
  let sum = 0;
  let count = 0;
  for (const row of rows) {
    for (const v of row) {
      expect(Number.isFinite(v)).toBe(true);
      sum += v * v;
      count++;
    }
  }
  return Math.sqrt(sum / count);
}

describe('makeMlp', () => {
  it('names and shapes for each naming', () => {
    expect(shapes(makeMlp({ widths: [3, 5, 4, 2], naming: 'layers', seed: 1 }).tensors)).toEqual({
      'layers.0.weight': [5, 3],
      'layers.0.bias': [5],
      'layers.1.weight': [4, 5],
      'layers.1.bias': [4],
      'layers.2.weight': [2, 4],
      'layers.2.bias': [2],
    });
    expect(Object.keys(shapes(makeMlp({ widths: [3, 5, 2], naming: 'fc', seed: 1 }).tensors))).toEqual([
      'fc1.weight',
      'fc1.bias',
      'fc2.weight',
      'fc2.bias',
    ]);
    const sequential = makeMlp({ widths: [3, 5, 4, 2], naming: 'sequential', bias: false, seed: 1 });
    expect(shapes(sequential.tensors)).toEqual({
      'net.0.weight': [5, 3],
      'net.2.weight': [4, 5],
      'net.4.weight': [2, 4],
    });
    expect(sequential.config).toMatchObject({
      input_size: 3,
      output_size: 2,
      hidden_sizes: '5,4',
      num_layers: 3,
    });
  });

  it('is deterministic in the seed, and the naming does not change the values', () => {
    const a = makeMlp({ widths: [3, 5, 2], naming: 'fc', seed: 7 });
    const b = makeMlp({ widths: [3, 5, 2], naming: 'sequential', seed: 7 });
    const c = makeMlp({ widths: [3, 5, 2], naming: 'fc', seed: 8 });
    expect(b.tensors.get('net.2.weight')?.data).toEqual(a.tensors.get('fc2.weight')?.data);
    expect(c.tensors.get('fc2.weight')?.data).not.toEqual(a.tensors.get('fc2.weight')?.data);
    const inputs = randomVectors(4, 3, 1);
    expect(mlpForward(b.tensors, b.config, inputs)).toEqual(mlpForward(a.tensors, a.config, inputs));
  });

  it('keeps outputs O(1) through a deep stack', () => {
    const model = makeMlp({ widths: [16, 32, 32, 32, 32, 10], naming: 'layers', seed: 3 });
    const rms = rootMeanSquare(mlpForward(model.tensors, model.config, randomVectors(32, 16, 4)));
    expect(rms).toBeGreaterThan(0.2);
    expect(rms).toBeLessThan(5);
  });
});

describe('makeVggCnn', () => {
  it('PyTorch Sequential indices: conv, bn, relu, pool per block; torchvision classifier', () => {
    const model = makeVggCnn({
      inChannels: 3,
      channels: [4, 6],
      imageSize: 8,
      hidden: [10],
      classes: 5,
      seed: 1,
    });
    const bn = (prefix: string, c: number): Record<string, readonly number[]> => ({
      [`${prefix}.weight`]: [c],
      [`${prefix}.bias`]: [c],
      [`${prefix}.running_mean`]: [c],
      [`${prefix}.running_var`]: [c],
      [`${prefix}.num_batches_tracked`]: [],
    });
    expect(shapes(model.tensors)).toEqual({
      'features.0.weight': [4, 3, 3, 3],
      'features.0.bias': [4],
      ...bn('features.1', 4),
      'features.4.weight': [6, 4, 3, 3],
      'features.4.bias': [6],
      ...bn('features.5', 6),
      'classifier.0.weight': [10, 6 * 2 * 2],
      'classifier.0.bias': [10],
      'classifier.3.weight': [5, 10],
      'classifier.3.bias': [5],
    });
    for (const v of model.tensors.get('features.5.running_var')?.data ?? []) expect(v).toBeGreaterThan(0);
    expect(model.config).toMatchObject({ image_size: 8, in_channels: 3, num_classes: 5 });
    const rms = rootMeanSquare(vggForward(model.tensors, model.config, randomImages(4, 3, 8, 2)));
    expect(rms).toBeGreaterThan(0.1);
    expect(rms).toBeLessThan(10);
  });

  it('rejects an image size the pools cannot halve', () => {
    expect(() =>
      makeVggCnn({ inChannels: 1, channels: [2, 2], imageSize: 6, classes: 2, seed: 1 }),
    ).toThrow();
  });
});

describe('makeResNet', () => {
  it('torchvision BasicBlock names, downsample only where the shape changes', () => {
    const model = makeResNet({
      inChannels: 3,
      stemChannels: 4,
      stages: [
        { channels: 4, blocks: 2, stride: 1 },
        { channels: 6, blocks: 1, stride: 2 },
      ],
      classes: 5,
      seed: 1,
    });
    const names = [...model.tensors.keys()];
    const weights = names.filter((name) => name.endsWith('.weight') && !/bn|downsample\.1/.test(name));
    expect(weights).toEqual([
      'conv1.weight',
      'layer1.0.conv1.weight',
      'layer1.0.conv2.weight',
      'layer1.1.conv1.weight',
      'layer1.1.conv2.weight',
      'layer2.0.conv1.weight',
      'layer2.0.conv2.weight',
      'layer2.0.downsample.0.weight',
      'fc.weight',
    ]);
    const shape = shapes(model.tensors);
    expect(shape['conv1.weight']).toEqual([4, 3, 3, 3]);
    expect(shape['layer2.0.conv1.weight']).toEqual([6, 4, 3, 3]);
    expect(shape['layer2.0.downsample.0.weight']).toEqual([6, 4, 1, 1]);
    expect(shape['layer2.0.downsample.1.running_var']).toEqual([6]);
    expect(shape['bn1.num_batches_tracked']).toEqual([]);
    expect(shape['fc.weight']).toEqual([5, 6]);
    expect(names).not.toContain('conv1.bias');
    expect(names).not.toContain('layer1.0.downsample.0.weight');
    expect(model.config).toMatchObject({ strides: '1,2', depths: '2,1', hidden_sizes: '4,6', image_size: 8 });
    const rms = rootMeanSquare(resnetForward(model.tensors, model.config, randomImages(4, 3, 8, 2)));
    expect(rms).toBeGreaterThan(0.1);
    expect(rms).toBeLessThan(20);
  });
});

describe('makeGpt2', () => {
  it('Hugging Face names and Conv1D [in, out] shapes', () => {
    const model = makeGpt2({ vocab: 11, positions: 6, dModel: 8, nHead: 2, nLayer: 2, seed: 1 });
    const shape = shapes(model.tensors);
    expect(shape).toMatchObject({
      'transformer.wte.weight': [11, 8],
      'transformer.wpe.weight': [6, 8],
      'transformer.h.1.ln_1.weight': [8],
      'transformer.h.1.ln_1.bias': [8],
      'transformer.h.1.attn.c_attn.weight': [8, 24],
      'transformer.h.1.attn.c_attn.bias': [24],
      'transformer.h.1.attn.c_proj.weight': [8, 8],
      'transformer.h.1.attn.c_proj.bias': [8],
      'transformer.h.1.ln_2.weight': [8],
      'transformer.h.1.mlp.c_fc.weight': [8, 32],
      'transformer.h.1.mlp.c_fc.bias': [32],
      'transformer.h.1.mlp.c_proj.weight': [32, 8],
      'transformer.h.1.mlp.c_proj.bias': [8],
      'transformer.ln_f.weight': [8],
      'transformer.ln_f.bias': [8],
      'lm_head.weight': [11, 8],
    });
    expect(Object.keys(shape)).toHaveLength(2 + 2 * 12 + 2 + 1);
    expect(model.config).toMatchObject({ n_head: 2, n_embd: 8, n_layer: 2, vocab_size: 11, n_positions: 6 });
    expect(model.tensors.get('lm_head.weight')?.data).toEqual(
      model.tensors.get('transformer.wte.weight')?.data,
    );
    const rms = rootMeanSquare(gpt2Forward(model.tensors, model.config, randomTokens(6, 11, 2)));
    expect(rms).toBeGreaterThan(0.1);
    expect(rms).toBeLessThan(20);
  });

  it('untied head option, ffMult, and the forward falls back to wte without lm_head', () => {
    const untied = makeGpt2({
      vocab: 5,
      positions: 4,
      dModel: 4,
      nHead: 1,
      nLayer: 1,
      ffMult: 2,
      tiedLmHead: false,
      seed: 2,
    });
    expect(untied.tensors.get('transformer.h.0.mlp.c_fc.weight')?.shape).toEqual([4, 8]);
    expect(untied.tensors.get('lm_head.weight')?.data).not.toEqual(
      untied.tensors.get('transformer.wte.weight')?.data,
    );
    const tied = makeGpt2({ vocab: 5, positions: 4, dModel: 4, nHead: 1, nLayer: 1, seed: 2 });
    const withoutHead = new Map(tied.tensors);
    withoutHead.delete('lm_head.weight');
    const tokens = [1, 4, 0];
    expect(gpt2Forward(withoutHead, tied.config, tokens)).toEqual(
      gpt2Forward(tied.tensors, tied.config, tokens),
    );
  });
});

describe('makeLlama', () => {
  it('Hugging Face names, [out, in] shapes, GQA widths, config keys', () => {
    const model = makeLlama({ vocab: 13, dModel: 8, nHead: 4, nKvHead: 2, ff: 12, nLayer: 2, seed: 1 });
    const shape = shapes(model.tensors);
    expect(shape).toMatchObject({
      'model.embed_tokens.weight': [13, 8],
      'model.layers.1.input_layernorm.weight': [8],
      'model.layers.1.self_attn.q_proj.weight': [8, 8],
      'model.layers.1.self_attn.k_proj.weight': [4, 8],
      'model.layers.1.self_attn.v_proj.weight': [4, 8],
      'model.layers.1.self_attn.o_proj.weight': [8, 8],
      'model.layers.1.post_attention_layernorm.weight': [8],
      'model.layers.1.mlp.gate_proj.weight': [12, 8],
      'model.layers.1.mlp.up_proj.weight': [12, 8],
      'model.layers.1.mlp.down_proj.weight': [8, 12],
      'model.norm.weight': [8],
      'lm_head.weight': [13, 8],
    });
    expect(Object.keys(shape)).toHaveLength(1 + 2 * 9 + 2);
    expect(Object.keys(shape).some((name) => name.endsWith('.bias'))).toBe(false);
    expect(model.config).toMatchObject({
      num_attention_heads: 4,
      num_key_value_heads: 2,
      hidden_size: 8,
      head_dim: 2,
      rms_norm_eps: 1e-6,
      rope_theta: 10000,
    });
    const rms = rootMeanSquare(llamaForward(model.tensors, model.config, randomTokens(7, 13, 2)));
    expect(rms).toBeGreaterThan(0.1);
    expect(rms).toBeLessThan(20);
  });

  it('an explicit headDim decouples the attention width from dModel', () => {
    const model = makeLlama({
      vocab: 7,
      dModel: 6,
      nHead: 2,
      nKvHead: 1,
      headDim: 4,
      ff: 8,
      nLayer: 1,
      seed: 3,
    });
    expect(model.tensors.get('model.layers.0.self_attn.q_proj.weight')?.shape).toEqual([8, 6]);
    expect(model.tensors.get('model.layers.0.self_attn.o_proj.weight')?.shape).toEqual([6, 8]);
    expect(model.config['head_dim']).toBe(4);
    const logits = llamaForward(model.tensors, model.config, [1, 2, 3]);
    expect(logits).toHaveLength(3);
    expect(logits[0]).toHaveLength(7);
  });
});
