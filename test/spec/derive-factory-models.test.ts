import { describe, expect, it } from 'vitest';
import type { TensorInfo } from '../../src/io/tensor-source.js';
import { deriveSpec } from '../../src/spec/derive-spec.js';
import { computeSpaceWidths } from '../../src/spec/space-widths.js';
import {
  makeGpt2,
  makeLlama,
  makeMlp,
  makeResNet,
  makeVggCnn,
  type SyntheticModel,
} from '../support/model-factory.js';
import { shapesOf } from './spec-test-helpers.js';

// Cross-check against the shared test model factory, which another author wrote from the PyTorch/HF layouts.
function infosOf(model: SyntheticModel): TensorInfo[] {
  return [...model.tensors].map(([name, tensor]) => ({ name, dtype: 'F32', shape: tensor.shape }));
}

function widths(model: SyntheticModel): Record<string, number> {
  const tensors = infosOf(model);
  return Object.fromEntries(
    computeSpaceWidths(deriveSpec(tensors, { config: model.config }), shapesOf(tensors)),
  );
}

describe('deriveSpec on the shared model factory', () => {
  it('MLPs in every naming', () => {
    expect(widths(makeMlp({ widths: [5, 7, 6, 3], naming: 'fc', seed: 1 }))).toEqual({
      input: 5,
      fc1: 7,
      fc2: 6,
      output: 3,
    });
    expect(widths(makeMlp({ widths: [5, 7, 3], naming: 'sequential', bias: false, seed: 1 }))).toEqual({
      input: 5,
      'net.0': 7,
      output: 3,
    });
    const deep = widths(
      makeMlp({ widths: [4, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 2], naming: 'layers', seed: 1 }),
    );
    expect(deep['layers.10']).toBe(8);
    expect(deep.output).toBe(2);
  });

  it('a VGG-style CNN', () => {
    const model = makeVggCnn({
      inChannels: 3,
      channels: [4, 6],
      imageSize: 8,
      hidden: [10],
      classes: 5,
      seed: 2,
    });
    const spec = deriveSpec(infosOf(model), { config: model.config });
    const head = spec.tensors.find((tensor) => tensor.name === 'classifier.0.weight');
    expect(head?.axes[1]).toEqual([{ space: 'features.4', block: 4 }]);
    expect(widths(model)).toEqual({
      input: 3,
      'features.0': 4,
      'features.4': 6,
      'classifier.0': 10,
      output: 5,
    });
  });

  it('a ResNet with a widening stage', () => {
    const model = makeResNet({
      inChannels: 3,
      stemChannels: 4,
      stages: [
        { channels: 4, blocks: 2, stride: 1 },
        { channels: 6, blocks: 2, stride: 2 },
      ],
      classes: 3,
      seed: 3,
    });
    expect(widths(model)).toMatchObject({ 'residual.stem': 4, 'residual.layer2.0': 6, output: 3 });
  });

  it('GPT-2 and LLaMA with their configs', () => {
    const gpt2 = makeGpt2({ vocab: 20, positions: 8, dModel: 12, nHead: 3, nLayer: 2, seed: 4 });
    expect(widths(gpt2)).toMatchObject({
      residual: 12,
      'transformer.h.1.attn': 3,
      'transformer.h.1.mlp': 48,
    });
    const llama = makeLlama({ vocab: 20, dModel: 16, nHead: 4, nKvHead: 2, ff: 24, nLayer: 2, seed: 5 });
    expect(widths(llama)).toMatchObject({
      residual: 16,
      'model.layers.0.self_attn': 2,
      'model.layers.1.mlp': 24,
    });
  });
});
