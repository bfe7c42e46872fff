import { describe, expect, it } from 'vitest';
import { deriveSpec } from '../../src/spec/derive-spec.js';
import { GPT2_TENSORS } from './spec-fixtures.js';
import { axesOf, spaceSummary, tensorInfos, widthsOf } from './spec-test-helpers.js';

describe('deriveSpec for GPT-2', () => {
  it('places fused q|k|v as three parts of the heads space, in Conv1D [in, out] layout', () => {
    const spec = deriveSpec(GPT2_TENSORS, {
      config: { n_head: 4, n_layer: 2, activation_function: 'gelu_new' },
    });
    expect(spec.family).toBe('gpt2');
    expect(spaceSummary(spec)).toEqual([
      'vocab:fixed',
      'residual:free',
      'positions:fixed',
      'transformer.h.0.attn:free',
      'transformer.h.0.attn.qk:free',
      'transformer.h.0.attn.v:free',
      'transformer.h.0.mlp:free',
      'transformer.h.1.attn:free',
      'transformer.h.1.attn.qk:free',
      'transformer.h.1.attn.v:free',
      'transformer.h.1.mlp:free',
    ]);
    expect(spec.spaces.find((space) => space.name === 'transformer.h.0.attn')?.role).toBe('heads');
    expect(axesOf(spec, 'transformer.wte.weight')).toEqual(['vocab', 'residual']);
    expect(axesOf(spec, 'transformer.wpe.weight')).toEqual(['positions', 'residual']);
    expect(axesOf(spec, 'transformer.h.0.ln_1.bias')).toEqual(['residual']);
    expect(axesOf(spec, 'transformer.h.0.attn.c_attn.weight')).toEqual([
      'residual',
      'transformer.h.0.attn[transformer.h.0.attn.qk:16] | transformer.h.0.attn[transformer.h.0.attn.qk:16] | transformer.h.0.attn[transformer.h.0.attn.v:16]',
    ]);
    expect(axesOf(spec, 'transformer.h.0.attn.c_attn.bias')).toEqual([
      'transformer.h.0.attn[transformer.h.0.attn.qk:16] | transformer.h.0.attn[transformer.h.0.attn.qk:16] | transformer.h.0.attn[transformer.h.0.attn.v:16]',
    ]);
    expect(axesOf(spec, 'transformer.h.1.attn.c_proj.weight')).toEqual([
      'transformer.h.1.attn[transformer.h.1.attn.v:16]',
      'residual',
    ]);
    expect(axesOf(spec, 'transformer.h.1.attn.c_proj.bias')).toEqual(['residual']);
    expect(axesOf(spec, 'transformer.h.0.mlp.c_fc.weight')).toEqual(['residual', 'transformer.h.0.mlp']);
    expect(axesOf(spec, 'transformer.h.0.mlp.c_proj.weight')).toEqual(['transformer.h.0.mlp', 'residual']);
    expect(axesOf(spec, 'lm_head.weight')).toEqual(['vocab', 'residual']);
    const mask = spec.tensors.find((tensor) => tensor.name === 'transformer.h.0.attn.bias');
    expect(mask).toEqual({ name: 'transformer.h.0.attn.bias', axes: [null, null, null, null], merge: false });
    expect(axesOf(spec, 'transformer.h.0.attn.masked_bias')).toEqual([]);
    expect(widthsOf(spec, GPT2_TENSORS)).toEqual({
      vocab: 50,
      residual: 64,
      positions: 32,
      'transformer.h.0.attn': 4,
      'transformer.h.0.attn.qk': 16,
      'transformer.h.0.attn.v': 16,
      'transformer.h.0.mlp': 256,
      'transformer.h.1.attn': 4,
      'transformer.h.1.attn.qk': 16,
      'transformer.h.1.attn.v': 16,
      'transformer.h.1.mlp': 256,
    });
    expect(spec.layers.map((layer) => `${layer.name}:${layer.kind}`)).toEqual([
      'transformer.wte:embedding',
      'transformer.wpe:embedding',
      'transformer.h.0.ln_1:norm',
      'transformer.h.0.attn:attention',
      'transformer.h.0.ln_2:norm',
      'transformer.h.0.mlp.c_fc:dense',
      'transformer.h.0.mlp.c_proj:dense',
      'transformer.h.1.ln_1:norm',
      'transformer.h.1.attn:attention',
      'transformer.h.1.ln_2:norm',
      'transformer.h.1.mlp.c_fc:dense',
      'transformer.h.1.mlp.c_proj:dense',
      'transformer.ln_f:norm',
      'lm_head:dense',
    ]);
    expect(spec.layers[3].tensors).toEqual([
      'transformer.h.0.attn.c_attn.weight',
      'transformer.h.0.attn.c_attn.bias',
      'transformer.h.0.attn.c_proj.weight',
      'transformer.h.0.attn.c_proj.bias',
      'transformer.h.0.attn.bias',
      'transformer.h.0.attn.masked_bias',
    ]);
    expect(spec.attributes).toMatchObject({ n_head: 4, head_dim: 16, n_layer: 2, activation: 'gelu_new' });
  });

  it('reads a GPT2Model without prefix or head, with head count from string metadata', () => {
    const tensors = tensorInfos([
      ['wte.weight', [40, 48]],
      ['wpe.weight', [16, 48]],
      ['h.0.ln_1.weight', [48]],
      ['h.0.ln_1.bias', [48]],
      ['h.0.attn.c_attn.weight', [48, 144]],
      ['h.0.attn.c_attn.bias', [144]],
      ['h.0.attn.c_proj.weight', [48, 48]],
      ['h.0.attn.c_proj.bias', [48]],
      ['h.0.ln_2.weight', [48]],
      ['h.0.ln_2.bias', [48]],
      ['h.0.mlp.c_fc.weight', [48, 192]],
      ['h.0.mlp.c_fc.bias', [192]],
      ['h.0.mlp.c_proj.weight', [192, 48]],
      ['h.0.mlp.c_proj.bias', [48]],
      ['ln_f.weight', [48]],
      ['ln_f.bias', [48]],
    ]);
    const spec = deriveSpec(tensors, { config: { n_head: '3' } });
    expect(axesOf(spec, 'h.0.attn.c_attn.weight')).toEqual([
      'residual',
      'h.0.attn[h.0.attn.qk:16] | h.0.attn[h.0.attn.qk:16] | h.0.attn[h.0.attn.v:16]',
    ]);
    expect(widthsOf(spec, tensors)).toEqual({
      vocab: 40,
      residual: 48,
      positions: 16,
      'h.0.attn': 3,
      'h.0.attn.qk': 16,
      'h.0.attn.v': 16,
      'h.0.mlp': 192,
    });
  });

  it('asks for config.json when the head count is missing', () => {
    expect(() => deriveSpec(GPT2_TENSORS)).toThrow(/n_head.*config\.json.*--spec/);
  });

  it('rejects a head count that does not divide the model width', () => {
    expect(() => deriveSpec(GPT2_TENSORS, { config: { n_head: 5 } })).toThrow(
      "tensor 'transformer.wte.weight' axis 1 has length 64, which 5 heads (n_head) do not divide evenly",
    );
  });

  it('rejects a fused q|k|v axis of the wrong length, naming tensor and axis', () => {
    const broken = GPT2_TENSORS.map((tensor) =>
      tensor.name === 'transformer.h.1.attn.c_attn.weight' ? { ...tensor, shape: [64, 176] } : tensor,
    );
    // c_attn is the first tensor of the heads space, so the heads width is solved from it and cannot be.
    expect(() => deriveSpec(broken, { config: { n_head: 4 } })).toThrow(
      "tensor 'transformer.h.1.attn.c_attn.weight' axis 1 has length 176 but spaces [transformer.h.1.attn*16, transformer.h.1.attn*16, transformer.h.1.attn*16] cannot fill it: 176 entries left for space 'transformer.h.1.attn' is not a positive multiple of 48",
    );
  });

  it('rejects c_proj rows that disagree with the heads solved from c_attn', () => {
    const broken = GPT2_TENSORS.map((tensor) =>
      tensor.name === 'transformer.h.0.attn.c_proj.weight' ? { ...tensor, shape: [48, 64] } : tensor,
    );
    expect(() => deriveSpec(broken, { config: { n_head: 4 } })).toThrow(
      "tensor 'transformer.h.0.attn.c_proj.weight' axis 0 has length 48 but spaces [transformer.h.0.attn*16 (width 4)] need 64",
    );
  });

  it('rejects a tensor GPT-2 has no place for', () => {
    const extra = [
      ...GPT2_TENSORS,
      { name: 'transformer.h.0.adapter.weight', dtype: 'F32' as const, shape: [8, 64] },
    ];
    expect(() => deriveSpec(extra, { config: { n_head: 4 } })).toThrow(
      /cannot place tensor 'transformer\.h\.0\.adapter\.weight'.*GPT-2.*--spec/,
    );
  });
});
