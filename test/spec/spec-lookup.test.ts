import { describe, expect, it } from 'vitest';
import { SpecError } from '../../src/errors.js';
import { deriveSpec } from '../../src/spec/derive-spec.js';
import { computeSpaceWidths } from '../../src/spec/space-widths.js';
import {
  findSpace,
  freeSpaces,
  getLayer,
  getSpace,
  getTensorSpec,
  layerOfTensor,
  partOffsets,
  spacesOfLayer,
  tensorsTouchingSpace,
} from '../../src/spec/spec-lookup.js';
import { GPT2_TENSORS } from './spec-fixtures.js';
import { shapesOf } from './spec-test-helpers.js';

const spec = deriveSpec(GPT2_TENSORS, { config: { n_head: 4 } });

describe('spec lookups', () => {
  it('finds spaces, tensors and layers by name', () => {
    expect(findSpace(spec, 'residual')).toEqual({ name: 'residual', kind: 'free', role: 'residual' });
    expect(findSpace(spec, 'nope')).toBeUndefined();
    expect(() => getSpace(spec, 'nope')).toThrow(SpecError);
    expect(getTensorSpec(spec, 'lm_head.weight').merge).toBe(true);
    expect(() => getTensorSpec(spec, 'nope')).toThrow("the spec has no tensor 'nope'");
    expect(getLayer(spec, 'transformer.h.1.attn').kind).toBe('attention');
  });

  it('lists every axis part of a space, with axis and part index', () => {
    expect(tensorsTouchingSpace(spec, 'transformer.h.0.attn')).toEqual([
      { tensor: 'transformer.h.0.attn.c_attn.weight', axis: 1, part: 0, block: 16 },
      { tensor: 'transformer.h.0.attn.c_attn.weight', axis: 1, part: 1, block: 16 },
      { tensor: 'transformer.h.0.attn.c_attn.weight', axis: 1, part: 2, block: 16 },
      { tensor: 'transformer.h.0.attn.c_attn.bias', axis: 0, part: 0, block: 16 },
      { tensor: 'transformer.h.0.attn.c_attn.bias', axis: 0, part: 1, block: 16 },
      { tensor: 'transformer.h.0.attn.c_attn.bias', axis: 0, part: 2, block: 16 },
      { tensor: 'transformer.h.0.attn.c_proj.weight', axis: 0, part: 0, block: 16 },
    ]);
  });

  it('finds the layer of a tensor and the spaces a layer touches', () => {
    expect(layerOfTensor(spec, 'transformer.h.0.attn.masked_bias')?.name).toBe('transformer.h.0.attn');
    expect(layerOfTensor(spec, 'nope')).toBeUndefined();
    expect(spacesOfLayer(spec, getLayer(spec, 'transformer.h.0.mlp.c_fc'))).toEqual([
      'residual',
      'transformer.h.0.mlp',
    ]);
  });

  it('lists free spaces in network order', () => {
    expect(freeSpaces(spec).map((space) => space.name)).toEqual([
      'residual',
      'transformer.h.0.attn',
      'transformer.h.0.attn.qk',
      'transformer.h.0.attn.v',
      'transformer.h.0.mlp',
      'transformer.h.1.attn',
      'transformer.h.1.attn.qk',
      'transformer.h.1.attn.v',
      'transformer.h.1.mlp',
    ]);
  });

  it('gives where each part starts along its axis', () => {
    const widths = computeSpaceWidths(spec, shapesOf(GPT2_TENSORS));
    const qkv = getTensorSpec(spec, 'transformer.h.0.attn.c_attn.weight').axes[1];
    expect(partOffsets(qkv, widths)).toEqual([0, 64, 128]);
    expect(partOffsets(null, widths)).toEqual([]);
  });
});
