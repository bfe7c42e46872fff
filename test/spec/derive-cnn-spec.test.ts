import { describe, expect, it } from 'vitest';
import { deriveSpec } from '../../src/spec/derive-spec.js';
import { VGG_TENSORS } from './spec-fixtures.js';
import { axesOf, spaceSummary, tensorInfos, widthsOf } from './spec-test-helpers.js';

describe('deriveSpec for VGG-style CNNs', () => {
  it('places convolutions, BatchNorms and the flattened dense head', () => {
    const spec = deriveSpec(VGG_TENSORS);
    expect(spec.family).toBe('cnn');
    expect(spaceSummary(spec)).toEqual([
      'input:fixed',
      'features.0:free',
      'features.4:free',
      'classifier.0:free',
      'output:fixed',
    ]);
    expect(axesOf(spec, 'features.0.weight')).toEqual(['features.0', 'input', null, null]);
    expect(axesOf(spec, 'features.0.bias')).toEqual(['features.0']);
    expect(axesOf(spec, 'features.1.running_var')).toEqual(['features.0']);
    expect(axesOf(spec, 'features.4.weight')).toEqual(['features.4', 'features.0', null, null]);
    expect(axesOf(spec, 'features.5.weight')).toEqual(['features.4']);
    // 512 flattened features over 32 channels: each channel owns a block of 4×4 = 16 entries.
    expect(axesOf(spec, 'classifier.0.weight')).toEqual(['classifier.0', 'features.4*16']);
    expect(axesOf(spec, 'classifier.3.weight')).toEqual(['output', 'classifier.0']);
    const counter = spec.tensors.find((tensor) => tensor.name === 'features.1.num_batches_tracked');
    expect(counter).toEqual({ name: 'features.1.num_batches_tracked', axes: [], merge: false });
    expect(widthsOf(spec, VGG_TENSORS)).toEqual({
      input: 3,
      'features.0': 16,
      'features.4': 32,
      'classifier.0': 64,
      output: 10,
    });
    expect(spec.layers.map((layer) => [layer.name, layer.kind, layer.input, layer.output])).toEqual([
      ['features.0', 'conv', 'input', 'features.0'],
      ['features.1', 'batchnorm', 'features.0', 'features.0'],
      ['features.4', 'conv', 'features.0', 'features.4'],
      ['features.5', 'batchnorm', 'features.4', 'features.4'],
      ['classifier.0', 'dense', 'features.4', 'classifier.0'],
      ['classifier.3', 'dense', 'classifier.0', 'output'],
    ]);
    expect(spec.layers[1].tensors).toEqual([
      'features.1.weight',
      'features.1.bias',
      'features.1.running_mean',
      'features.1.running_var',
      'features.1.num_batches_tracked',
    ]);
  });

  it('reads a small CNN named conv1/bn1/conv2/bn2/fc1/fc2 (bnN follows convN)', () => {
    const tensors = tensorInfos([
      ['bn1.bias', [8]],
      ['bn1.num_batches_tracked', []],
      ['bn1.running_mean', [8]],
      ['bn1.running_var', [8]],
      ['bn1.weight', [8]],
      ['bn2.bias', [12]],
      ['bn2.num_batches_tracked', []],
      ['bn2.running_mean', [12]],
      ['bn2.running_var', [12]],
      ['bn2.weight', [12]],
      ['conv1.weight', [8, 1, 5, 5]],
      ['conv2.weight', [12, 8, 5, 5]],
      ['fc1.bias', [50]],
      ['fc1.weight', [50, 192]],
      ['fc2.bias', [10]],
      ['fc2.weight', [10, 50]],
    ]);
    const spec = deriveSpec(tensors);
    expect(spaceSummary(spec)).toEqual([
      'input:fixed',
      'conv1:free',
      'conv2:free',
      'fc1:free',
      'output:fixed',
    ]);
    expect(axesOf(spec, 'bn2.running_mean')).toEqual(['conv2']);
    expect(axesOf(spec, 'fc1.weight')).toEqual(['fc1', 'conv2*16']);
    expect(spec.layers.map((layer) => layer.name)).toEqual(['conv1', 'bn1', 'conv2', 'bn2', 'fc1', 'fc2']);
    expect(widthsOf(spec, tensors)).toEqual({ input: 1, conv1: 8, conv2: 12, fc1: 50, output: 10 });
  });

  it('uses block 1 when the head reads globally pooled channels', () => {
    const tensors = tensorInfos([
      ['conv1.weight', [24, 3, 3, 3]],
      ['conv2.weight', [48, 24, 3, 3]],
      ['fc.weight', [5, 48]],
      ['fc.bias', [5]],
    ]);
    const spec = deriveSpec(tensors);
    expect(axesOf(spec, 'fc.weight')).toEqual(['output', 'conv2']);
  });

  it('rejects a head whose input is not a whole number of blocks per channel', () => {
    const tensors = tensorInfos([
      ['features.0.weight', [32, 3, 3, 3]],
      ['classifier.0.weight', [10, 500]],
    ]);
    expect(() => deriveSpec(tensors)).toThrow(
      "tensor 'classifier.0.weight' axis 1 has length 500, which is not a whole number of blocks over the 32 channels of tensor 'features.0.weight' axis 0",
    );
  });

  it('rejects consecutive convolutions whose channels disagree, naming both tensors', () => {
    const tensors = tensorInfos([
      ['features.0.weight', [16, 3, 3, 3]],
      ['features.2.weight', [32, 24, 3, 3]],
      ['classifier.weight', [10, 32]],
    ]);
    expect(() => deriveSpec(tensors)).toThrow(
      "tensor 'features.2.weight' axis 1 has length 24 but the previous convolution's tensor 'features.0.weight' axis 0 has length 16",
    );
  });

  it('rejects a BatchNorm of the wrong width, naming tensor and axis', () => {
    const tensors = tensorInfos([
      ['features.0.weight', [16, 3, 3, 3]],
      ['features.1.weight', [16]],
      ['features.1.bias', [16]],
      ['features.1.running_mean', [15]],
      ['features.1.running_var', [16]],
      ['classifier.weight', [10, 16]],
    ]);
    expect(() => deriveSpec(tensors)).toThrow(
      "tensor 'features.1.running_mean' axis 0 has length 15 but spaces [features.0 (width 16)] need 16",
    );
  });

  it('rejects a norm that follows no convolution', () => {
    const tensors = tensorInfos([
      ['features.0.weight', [16, 3, 3, 3]],
      ['head_norm.weight', [16]],
      ['head_norm.running_mean', [16]],
      ['classifier.weight', [10, 16]],
    ]);
    expect(() => deriveSpec(tensors)).toThrow(
      /cannot place tensor 'head_norm\.weight'.*no convolution.*--spec/,
    );
  });
});
