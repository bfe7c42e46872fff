import { describe, expect, it } from 'vitest';
import { deriveSpec } from '../../src/spec/derive-spec.js';
import { LLAMA_TENSORS } from './spec-fixtures.js';
import { axesOf, spaceSummary, tensorInfos, widthsOf } from './spec-test-helpers.js';

const LLAMA_CONFIG = { num_attention_heads: 8, num_key_value_heads: 2, hidden_size: 64, rms_norm_eps: 1e-5 };

describe('deriveSpec for LLaMA', () => {
  it('makes kv-head groups the attention space with query heads and value dims nested: k blocks headDim, q [query:g, headDim], v [v:headDim], o [query:g, v:headDim]', () => {
    const spec = deriveSpec(LLAMA_TENSORS, { config: LLAMA_CONFIG });
    expect(spec.family).toBe('llama');
    expect(spaceSummary(spec)).toEqual([
      'vocab:fixed',
      'residual:free',
      'model.layers.0.self_attn:free',
      'model.layers.0.self_attn.query:free',
      'model.layers.0.self_attn.v:free',
      'model.layers.0.mlp:free',
      'model.layers.1.self_attn:free',
      'model.layers.1.self_attn.query:free',
      'model.layers.1.self_attn.v:free',
      'model.layers.1.mlp:free',
    ]);
    expect(axesOf(spec, 'model.embed_tokens.weight')).toEqual(['vocab', 'residual']);
    expect(axesOf(spec, 'model.layers.0.self_attn.q_proj.weight')).toEqual([
      'model.layers.0.self_attn[model.layers.0.self_attn.query:4,8]',
      'residual',
    ]);
    expect(axesOf(spec, 'model.layers.0.self_attn.k_proj.weight')).toEqual([
      'model.layers.0.self_attn*8',
      'residual',
    ]);
    expect(axesOf(spec, 'model.layers.0.self_attn.v_proj.weight')).toEqual([
      'model.layers.0.self_attn[model.layers.0.self_attn.v:8]',
      'residual',
    ]);
    expect(axesOf(spec, 'model.layers.0.self_attn.o_proj.weight')).toEqual([
      'residual',
      'model.layers.0.self_attn[model.layers.0.self_attn.query:4,model.layers.0.self_attn.v:8]',
    ]);
    expect(axesOf(spec, 'model.layers.1.mlp.gate_proj.weight')).toEqual(['model.layers.1.mlp', 'residual']);
    expect(axesOf(spec, 'model.layers.1.mlp.up_proj.weight')).toEqual(['model.layers.1.mlp', 'residual']);
    expect(axesOf(spec, 'model.layers.1.mlp.down_proj.weight')).toEqual(['residual', 'model.layers.1.mlp']);
    expect(axesOf(spec, 'model.layers.1.post_attention_layernorm.weight')).toEqual(['residual']);
    expect(axesOf(spec, 'model.norm.weight')).toEqual(['residual']);
    expect(axesOf(spec, 'lm_head.weight')).toEqual(['vocab', 'residual']);
    expect(widthsOf(spec, LLAMA_TENSORS)).toEqual({
      vocab: 100,
      residual: 64,
      'model.layers.0.self_attn': 2,
      'model.layers.0.self_attn.query': 4,
      'model.layers.0.self_attn.v': 8,
      'model.layers.0.mlp': 160,
      'model.layers.1.self_attn': 2,
      'model.layers.1.self_attn.query': 4,
      'model.layers.1.self_attn.v': 8,
      'model.layers.1.mlp': 160,
    });
    expect(spec.layers.map((layer) => `${layer.name}:${layer.kind}`).slice(0, 7)).toEqual([
      'model.embed_tokens:embedding',
      'model.layers.0.input_layernorm:norm',
      'model.layers.0.self_attn:attention',
      'model.layers.0.post_attention_layernorm:norm',
      'model.layers.0.mlp.gate_proj:dense',
      'model.layers.0.mlp.up_proj:dense',
      'model.layers.0.mlp.down_proj:dense',
    ]);
    expect(spec.layers.at(-1)).toEqual({
      name: 'lm_head',
      kind: 'dense',
      tensors: ['lm_head.weight'],
      input: 'residual',
      output: 'vocab',
    });
    expect(spec.attributes).toMatchObject({
      num_attention_heads: 8,
      num_key_value_heads: 2,
      head_dim: 8,
      num_hidden_layers: 2,
      activation: 'silu',
      rms_norm_eps: 1e-5,
    });
  });

  it('defaults nKV to nH (one head per group), honours an explicit head_dim, and places q/k/v biases', () => {
    const tensors = tensorInfos([
      ['model.embed_tokens.weight', [30, 32]],
      ['model.layers.0.input_layernorm.weight', [32]],
      ['model.layers.0.self_attn.q_proj.weight', [48, 32]],
      ['model.layers.0.self_attn.q_proj.bias', [48]],
      ['model.layers.0.self_attn.k_proj.weight', [48, 32]],
      ['model.layers.0.self_attn.k_proj.bias', [48]],
      ['model.layers.0.self_attn.v_proj.weight', [48, 32]],
      ['model.layers.0.self_attn.v_proj.bias', [48]],
      ['model.layers.0.self_attn.o_proj.weight', [32, 48]],
      ['model.layers.0.self_attn.rotary_emb.inv_freq', [6]],
      ['model.layers.0.post_attention_layernorm.weight', [32]],
      ['model.layers.0.mlp.gate_proj.weight', [80, 32]],
      ['model.layers.0.mlp.up_proj.weight', [80, 32]],
      ['model.layers.0.mlp.down_proj.weight', [32, 80]],
      ['model.norm.weight', [32]],
    ]);
    const spec = deriveSpec(tensors, { config: { num_attention_heads: 4, head_dim: 12 } });
    expect(axesOf(spec, 'model.layers.0.self_attn.q_proj.weight')).toEqual([
      'model.layers.0.self_attn[model.layers.0.self_attn.query:1,12]',
      'residual',
    ]);
    expect(axesOf(spec, 'model.layers.0.self_attn.k_proj.bias')).toEqual(['model.layers.0.self_attn*12']);
    expect(axesOf(spec, 'model.layers.0.self_attn.rotary_emb.inv_freq')).toEqual([null]);
    expect(spec.tensors.find((tensor) => tensor.name.endsWith('inv_freq'))?.merge).toBe(false);
    expect(widthsOf(spec, tensors)['model.layers.0.self_attn']).toBe(4);
  });

  it('asks for config.json when num_attention_heads is missing', () => {
    expect(() => deriveSpec(LLAMA_TENSORS)).toThrow(/num_attention_heads.*config\.json.*--spec/);
  });

  it('rejects head counts that do not group', () => {
    expect(() =>
      deriveSpec(LLAMA_TENSORS, { config: { num_attention_heads: 8, num_key_value_heads: 3 } }),
    ).toThrow(/8 attention heads and 3 key\/value heads/);
  });

  it('rejects k_proj rows that do not match the kv groups, naming tensor and axis', () => {
    const broken = LLAMA_TENSORS.map((tensor) =>
      tensor.name === 'model.layers.1.self_attn.k_proj.weight' ? { ...tensor, shape: [24, 64] } : tensor,
    );
    expect(() => deriveSpec(broken, { config: LLAMA_CONFIG })).toThrow(
      "tensor 'model.layers.1.self_attn.k_proj.weight' axis 0 has length 24 but spaces [model.layers.1.self_attn*8 (width 2)] need 16",
    );
  });

  it('rejects a missing projection, naming it', () => {
    const missing = LLAMA_TENSORS.filter(
      (tensor) => tensor.name !== 'model.layers.0.self_attn.v_proj.weight',
    );
    expect(() => deriveSpec(missing, { config: LLAMA_CONFIG })).toThrow(
      "a LLaMA model needs tensor 'model.layers.0.self_attn.v_proj.weight', which the model lacks",
    );
  });
});
