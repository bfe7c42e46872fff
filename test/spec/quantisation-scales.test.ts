import { describe, expect, it } from 'vitest';
import { SpecError } from '../../src/errors.js';
import type { TensorInfo } from '../../src/io/tensor-source.js';
import { deriveSpec } from '../../src/spec/derive-spec.js';
import type { DType } from '../../src/tensor/dtype.js';

const info = (name: string, shape: number[], dtype: DType = 'F32'): TensorInfo => ({ name, dtype, shape });

// An FP8 checkpoint as compressed-tensors (weight_scale, input_scale) and DeepSeek/Qwen (weight_scale_inv,
// block-wise) write them: each FP8 weight comes with float32 scales named after it.
const fp8Mlp: TensorInfo[] = [
  info('fc1.weight', [24, 20], 'F8_E4M3'),
  info('fc1.weight_scale', [24, 1]),
  info('fc1.input_scale', []),
  info('fc1.bias', [24]),
  info('fc2.weight', [5, 24], 'F8_E5M2'),
  info('fc2.weight_scale_inv', [1, 1]),
  info('fc2.bias', [5]),
];

describe('deriveSpec with the scales of FP8 weights', () => {
  it('keeps each scale beside its weight: copied from the base, never merged, in the weight’s layer', () => {
    const spec = deriveSpec(fp8Mlp);
    expect(spec.family).toBe('mlp');
    expect(spec.tensors.map((t) => t.name)).toEqual(fp8Mlp.map((t) => t.name));
    for (const name of ['fc1.weight_scale', 'fc1.input_scale', 'fc2.weight_scale_inv']) {
      const tensor = spec.tensors.find((t) => t.name === name)!;
      expect(tensor.merge).toBe(false);
      expect(tensor.axes.every((axis) => axis === null)).toBe(true);
    }
    const fc1 = spec.layers.find((l) => l.tensors.includes('fc1.weight'))!;
    expect(fc1.tensors).toEqual(expect.arrayContaining(['fc1.weight_scale', 'fc1.input_scale']));
    const fc2 = spec.layers.find((l) => l.tensors.includes('fc2.weight'))!;
    expect(fc2.tensors).toContain('fc2.weight_scale_inv');
    expect(spec.spaces.map((s) => s.name)).toEqual(['input', 'fc1', 'output']);
  });

  it('still refuses a scale-like name whose weight is not FP8 (nothing says it is a scale)', () => {
    const plain = [info('fc1.weight', [24, 20]), info('fc1.weight_scale', []), info('fc1.bias', [24])];
    expect(() => deriveSpec(plain)).toThrow(SpecError);
    expect(() => deriveSpec(plain)).toThrow(/fc1\.weight_scale/);
  });
});
