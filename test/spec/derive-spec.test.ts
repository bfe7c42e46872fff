import { describe, expect, it } from 'vitest';
import { deriveSpec, detectFamily } from '../../src/spec/derive-spec.js';
import { tensorInfos } from './spec-test-helpers.js';

describe('detectFamily', () => {
  it('tells families apart by their tensor names and ranks', () => {
    expect(detectFamily(tensorInfos([['model.layers.0.self_attn.q_proj.weight', [8, 8]]]))).toBe('llama');
    expect(detectFamily(tensorInfos([['transformer.h.0.attn.c_attn.weight', [8, 24]]]))).toBe('gpt2');
    expect(detectFamily(tensorInfos([['h.3.attn.c_attn.weight', [8, 24]]]))).toBe('gpt2');
    expect(detectFamily(tensorInfos([['layer1.0.conv1.weight', [8, 8, 3, 3]]]))).toBe('resnet');
    expect(detectFamily(tensorInfos([['features.0.weight', [8, 3, 3, 3]]]))).toBe('cnn');
    expect(detectFamily(tensorInfos([['fc1.weight', [8, 3]]]))).toBe('mlp');
  });

  it('refuses a rank no family uses and suggests --spec', () => {
    expect(() => detectFamily(tensorInfos([['conv1d.weight', [8, 3, 5]]]))).toThrow(
      /tensor 'conv1d\.weight' has shape \[8, 3, 5\].*--spec/,
    );
  });
});

describe('deriveSpec', () => {
  it('uses the family it is given instead of detecting one', () => {
    const tensors = tensorInfos([
      ['conv1.weight', [4, 3, 3, 3]],
      ['fc.weight', [2, 4]],
    ]);
    expect(deriveSpec(tensors).family).toBe('cnn');
    expect(deriveSpec(tensors, { family: 'resnet' }).family).toBe('resnet');
    expect(() => deriveSpec(tensors, { family: 'mlp' })).toThrow(
      /cannot place tensor 'conv1\.weight'.*MLP.*--spec/,
    );
  });

  it('refuses a custom family and an empty model', () => {
    expect(() => deriveSpec(tensorInfos([['w', [2, 2]]]), { family: 'custom' })).toThrow(/--spec/);
    expect(() => deriveSpec([])).toThrow('cannot derive a spec for a model without tensors');
  });
});
