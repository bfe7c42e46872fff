import { describe, expect, it } from 'vitest';
import { ropeInverseFrequencies } from '../../src/eval/rope-frequencies.js';
import { resolveTransformerSettings } from '../../src/eval/transformer-settings.js';
import { makeLlama } from '../support/model-factory.js';
import { specOf } from './forward-test-helpers.js';

function expectClose(actual: Float64Array, expected: readonly number[]): void {
  expect(actual.length).toBe(expected.length);
  for (const [i, value] of expected.entries()) expect(actual[i]).toBeCloseTo(value, 15);
}

describe('ropeInverseFrequencies', () => {
  it('is theta^(−2i/d) unscaled, and each divided by the factor when linear', () => {
    expectClose(ropeInverseFrequencies(8, 10000), [1, 0.1, 0.01, 0.001]);
    expectClose(
      ropeInverseFrequencies(8, 10000, { kind: 'linear', factor: 4 }),
      [0.25, 0.025, 0.0025, 0.00025],
    );
  });

  it('blends as LLaMA 3.1 does: short wavelengths kept, long ones divided, those between smoothed', () => {
    // Wavelengths 2π/f: 6.3 and 63 (under 1024/4: kept), 628 (between: smoothed), 6283 (over 1024/1: ÷ 8). The
    // smoothed one by hand: s = (1024/628.3 − 1)/(4 − 1) = 0.20991, (1 − s)·0.01/8 + s·0.01 = 0.0030868.
    const scaling = {
      kind: 'llama3',
      factor: 8,
      lowFreqFactor: 1,
      highFreqFactor: 4,
      originalContext: 1024,
    } as const;
    expectClose(ropeInverseFrequencies(8, 10000, scaling), [1, 0.1, 0.003086760967011274, 0.000125]);
  });
});

describe("a LLaMA config's rope_scaling", () => {
  const spec = specOf(makeLlama({ vocab: 5, dModel: 8, nHead: 2, nKvHead: 1, ff: 4, nLayer: 1, seed: 1 }));
  const settings = (config: Record<string, string | number>) => resolveTransformerSettings(spec, config);

  it('reads llama3 and linear from the flattened config', () => {
    expect(
      settings({
        rope_scaling: 'llama3',
        'rope_scaling.factor': 32,
        'rope_scaling.low_freq_factor': 1,
        'rope_scaling.high_freq_factor': 4,
        'rope_scaling.original_max_position_embeddings': 8192,
      }).ropeScaling,
    ).toEqual({ kind: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalContext: 8192 });
    expect(settings({ rope_scaling: 'linear', 'rope_scaling.factor': 2 }).ropeScaling).toEqual({
      kind: 'linear',
      factor: 2,
    });
    expect(settings({}).ropeScaling).toEqual({ kind: 'default' });
  });

  it('reads dynamic scaling as none: Hugging Face rescales only past max_position_embeddings, the longest read', () => {
    const dynamic = settings({
      rope_scaling: 'dynamic',
      'rope_scaling.factor': 2,
      'rope_scaling.original_max_position_embeddings': 512,
      max_position_embeddings: 4096,
    });
    expect(dynamic.ropeScaling).toEqual({ kind: 'default' });
    expect(dynamic.context).toBe(4096);
  });

  it("refuses model types and settings whose forward pass differs from LLaMA's, naming them", () => {
    expect(() => settings({ model_type: 'gemma' })).toThrow(
      /model_type 'gemma' has llama tensor names, but its forward pass is not llama's \(implemented for model_type llama, mistral, qwen2\)/,
    );
    expect(settings({ model_type: 'qwen2' }).family).toBe('llama');
    expect(() => settings({ partial_rotary_factor: 0.5 })).toThrow(
      /partial_rotary_factor .* is not implemented/,
    );
    expect(settings({ partial_rotary_factor: 1 }).headDim).toBe(4);
    expect(() => settings({ layer_types: 'full_attention,sliding_attention' })).toThrow(
      /layer_types has sliding_attention layers/,
    );
    // A number written as text (safetensors metadata, a hand-written config) reads as the number.
    expect(settings({ rope_scaling: 'linear', 'rope_scaling.factor': '8' }).ropeScaling).toEqual({
      kind: 'linear',
      factor: 8,
    });
  });

  it("refuses Qwen2's windowed layers (use_sliding_window), which would otherwise read as full attention", () => {
    expect(() => settings({ use_sliding_window: 1, sliding_window: 4 })).toThrow(
      /sets use_sliding_window \(Qwen2-style windowed layers\), which is not implemented/,
    );
    expect(settings({ use_sliding_window: 0, sliding_window: 4 }).slidingWindow).toBeUndefined();
  });

  it('refuses what it cannot compute, naming the field', () => {
    expect(() => settings({ rope_scaling: 'yarn', 'rope_scaling.factor': 4 })).toThrow(
      /RoPE scaling 'yarn' \(rope_scaling or rope_parameters\), which is not implemented \(implemented: linear, dynamic, llama3\)/,
    );
    expect(() => settings({ rope_scaling: 'linear' })).toThrow(
      /rope_scaling 'linear' needs rope_scaling\.factor/,
    );
    expect(() => settings({ rope_scaling: 'linear', 'rope_scaling.factor': -1 })).toThrow(
      /setting 'rope_scaling\.factor' = -1 is not valid/,
    );
    expect(() =>
      settings({
        rope_scaling: 'llama3',
        'rope_scaling.factor': 8,
        'rope_scaling.low_freq_factor': 4,
        'rope_scaling.high_freq_factor': 4,
        'rope_scaling.original_max_position_embeddings': 8192,
      }),
    ).toThrow(/high_freq_factor \(4\) above low_freq_factor \(4\)/);
  });
});
