import { describe, expect, it } from 'vitest';
import { deriveSpec } from '../../src/spec/derive-spec.js';
import { BASIC_RESNET } from './spec-fixtures.js';
import { axesOf, spaceSummary, tensorInfos, widthsOf } from './spec-test-helpers.js';

describe('deriveSpec for ResNets', () => {
  it('derives residual spaces for BasicBlocks with and without a downsample', () => {
    const spec = deriveSpec(BASIC_RESNET);
    expect(spec.family).toBe('resnet');
    expect(spaceSummary(spec)).toEqual([
      'input:fixed',
      'residual.stem:free',
      'layer1.0.conv1:free',
      'layer1.1.conv1:free',
      'layer2.0.conv1:free',
      'residual.layer2.0:free',
      'layer2.1.conv1:free',
      'output:fixed',
    ]);
    expect(axesOf(spec, 'conv1.weight')).toEqual(['residual.stem', 'input', null, null]);
    expect(axesOf(spec, 'bn1.weight')).toEqual(['residual.stem']);
    // A block without downsample reads and writes the same residual space.
    expect(axesOf(spec, 'layer1.0.conv1.weight')).toEqual(['layer1.0.conv1', 'residual.stem', null, null]);
    expect(axesOf(spec, 'layer1.0.conv2.weight')).toEqual(['residual.stem', 'layer1.0.conv1', null, null]);
    expect(axesOf(spec, 'layer1.1.bn2.running_var')).toEqual(['residual.stem']);
    // A downsampling block writes a new residual space through its last conv and its shortcut.
    expect(axesOf(spec, 'layer2.0.conv1.weight')).toEqual(['layer2.0.conv1', 'residual.stem', null, null]);
    expect(axesOf(spec, 'layer2.0.conv2.weight')).toEqual([
      'residual.layer2.0',
      'layer2.0.conv1',
      null,
      null,
    ]);
    expect(axesOf(spec, 'layer2.0.bn2.bias')).toEqual(['residual.layer2.0']);
    expect(axesOf(spec, 'layer2.0.downsample.0.weight')).toEqual([
      'residual.layer2.0',
      'residual.stem',
      null,
      null,
    ]);
    expect(axesOf(spec, 'layer2.0.downsample.1.weight')).toEqual(['residual.layer2.0']);
    expect(axesOf(spec, 'layer2.1.conv2.weight')).toEqual([
      'residual.layer2.0',
      'layer2.1.conv1',
      null,
      null,
    ]);
    expect(axesOf(spec, 'fc.weight')).toEqual(['output', 'residual.layer2.0']);
    expect(axesOf(spec, 'layer2.0.downsample.1.num_batches_tracked')).toEqual([]);
    expect(widthsOf(spec, BASIC_RESNET)).toEqual({
      input: 3,
      'residual.stem': 16,
      'layer1.0.conv1': 16,
      'layer1.1.conv1': 16,
      'layer2.0.conv1': 32,
      'residual.layer2.0': 32,
      'layer2.1.conv1': 32,
      output: 10,
    });
    expect(spec.layers.map((layer) => layer.name)).toEqual([
      'conv1',
      'bn1',
      'layer1.0.conv1',
      'layer1.0.bn1',
      'layer1.0.conv2',
      'layer1.0.bn2',
      'layer1.1.conv1',
      'layer1.1.bn1',
      'layer1.1.conv2',
      'layer1.1.bn2',
      'layer2.0.conv1',
      'layer2.0.bn1',
      'layer2.0.conv2',
      'layer2.0.bn2',
      'layer2.0.downsample.0',
      'layer2.0.downsample.1',
      'layer2.1.conv1',
      'layer2.1.bn1',
      'layer2.1.conv2',
      'layer2.1.bn2',
      'fc',
    ]);
  });

  it('derives a Bottleneck block (conv3/bn3) with a widening downsample', () => {
    const tensors = tensorInfos([
      ['conv1.weight', [8, 3, 7, 7]],
      ['bn1.weight', [8]],
      ['bn1.bias', [8]],
      ['bn1.running_mean', [8]],
      ['bn1.running_var', [8]],
      ['bn1.num_batches_tracked', []],
      ['layer1.0.conv1.weight', [8, 8, 1, 1]],
      ['layer1.0.bn1.weight', [8]],
      ['layer1.0.bn1.bias', [8]],
      ['layer1.0.bn1.running_mean', [8]],
      ['layer1.0.bn1.running_var', [8]],
      ['layer1.0.bn1.num_batches_tracked', []],
      ['layer1.0.conv2.weight', [8, 8, 3, 3]],
      ['layer1.0.bn2.weight', [8]],
      ['layer1.0.bn2.bias', [8]],
      ['layer1.0.bn2.running_mean', [8]],
      ['layer1.0.bn2.running_var', [8]],
      ['layer1.0.bn2.num_batches_tracked', []],
      ['layer1.0.conv3.weight', [32, 8, 1, 1]],
      ['layer1.0.bn3.weight', [32]],
      ['layer1.0.bn3.bias', [32]],
      ['layer1.0.bn3.running_mean', [32]],
      ['layer1.0.bn3.running_var', [32]],
      ['layer1.0.bn3.num_batches_tracked', []],
      ['layer1.0.downsample.0.weight', [32, 8, 1, 1]],
      ['layer1.0.downsample.1.weight', [32]],
      ['layer1.0.downsample.1.bias', [32]],
      ['layer1.0.downsample.1.running_mean', [32]],
      ['layer1.0.downsample.1.running_var', [32]],
      ['layer1.0.downsample.1.num_batches_tracked', []],
      ['fc.weight', [7, 32]],
      ['fc.bias', [7]],
    ]);
    const spec = deriveSpec(tensors);
    expect(spaceSummary(spec)).toEqual([
      'input:fixed',
      'residual.stem:free',
      'layer1.0.conv1:free',
      'layer1.0.conv2:free',
      'residual.layer1.0:free',
      'output:fixed',
    ]);
    expect(axesOf(spec, 'layer1.0.conv2.weight')).toEqual(['layer1.0.conv2', 'layer1.0.conv1', null, null]);
    expect(axesOf(spec, 'layer1.0.conv3.weight')).toEqual([
      'residual.layer1.0',
      'layer1.0.conv2',
      null,
      null,
    ]);
    expect(axesOf(spec, 'layer1.0.bn3.weight')).toEqual(['residual.layer1.0']);
    expect(axesOf(spec, 'fc.weight')).toEqual(['output', 'residual.layer1.0']);
    expect(widthsOf(spec, tensors)['residual.layer1.0']).toBe(32);
  });

  it('accepts CIFAR naming: shortcut.0/shortcut.1 and a linear head', () => {
    const tensors = tensorInfos([
      ['conv1.weight', [16, 3, 3, 3]],
      ['bn1.weight', [16]],
      ['bn1.bias', [16]],
      ['bn1.running_mean', [16]],
      ['bn1.running_var', [16]],
      ['bn1.num_batches_tracked', []],
      ['layer1.0.conv1.weight', [32, 16, 3, 3]],
      ['layer1.0.bn1.weight', [32]],
      ['layer1.0.bn1.bias', [32]],
      ['layer1.0.bn1.running_mean', [32]],
      ['layer1.0.bn1.running_var', [32]],
      ['layer1.0.bn1.num_batches_tracked', []],
      ['layer1.0.conv2.weight', [32, 32, 3, 3]],
      ['layer1.0.bn2.weight', [32]],
      ['layer1.0.bn2.bias', [32]],
      ['layer1.0.bn2.running_mean', [32]],
      ['layer1.0.bn2.running_var', [32]],
      ['layer1.0.bn2.num_batches_tracked', []],
      ['layer1.0.shortcut.0.weight', [32, 16, 1, 1]],
      ['layer1.0.shortcut.1.weight', [32]],
      ['layer1.0.shortcut.1.bias', [32]],
      ['layer1.0.shortcut.1.running_mean', [32]],
      ['layer1.0.shortcut.1.running_var', [32]],
      ['layer1.0.shortcut.1.num_batches_tracked', []],
      ['linear.weight', [10, 32]],
      ['linear.bias', [10]],
    ]);
    const spec = deriveSpec(tensors);
    expect(axesOf(spec, 'layer1.0.shortcut.0.weight')).toEqual([
      'residual.layer1.0',
      'residual.stem',
      null,
      null,
    ]);
    expect(axesOf(spec, 'layer1.0.shortcut.1.running_mean')).toEqual(['residual.layer1.0']);
    expect(axesOf(spec, 'linear.weight')).toEqual(['output', 'residual.layer1.0']);
    expect(spec.layers.find((layer) => layer.name === 'layer1.0.shortcut.1')?.kind).toBe('batchnorm');
  });

  it('rejects a block that changes width without a shortcut convolution (padding shortcut)', () => {
    const tensors = tensorInfos([
      ['conv1.weight', [16, 3, 3, 3]],
      ['layer1.0.conv1.weight', [32, 16, 3, 3]],
      ['layer1.0.conv2.weight', [32, 32, 3, 3]],
      ['linear.weight', [10, 32]],
    ]);
    expect(() => deriveSpec(tensors)).toThrow(
      "block 'layer1.0' changes the residual width from 16 (tensor 'conv1.weight' axis 0) to 32 (tensor 'layer1.0.conv2.weight' axis 0)",
    );
  });

  it('rejects a block conv reading the wrong width, naming tensor and axis', () => {
    const tensors = tensorInfos([
      ['conv1.weight', [16, 3, 3, 3]],
      ['layer1.0.conv1.weight', [16, 16, 3, 3]],
      ['layer1.0.conv2.weight', [16, 12, 3, 3]],
      ['fc.weight', [10, 16]],
    ]);
    expect(() => deriveSpec(tensors)).toThrow(
      "tensor 'layer1.0.conv2.weight' axis 1 has length 12 but spaces [layer1.0.conv1 (width 16)] need 16",
    );
  });

  it('rejects an unknown module inside a block', () => {
    const tensors = tensorInfos([
      ['conv1.weight', [16, 3, 3, 3]],
      ['layer1.0.conv1.weight', [16, 16, 3, 3]],
      ['layer1.0.se.fc.weight', [4, 16]],
      ['fc.weight', [10, 16]],
    ]);
    expect(() => deriveSpec(tensors)).toThrow(/cannot place tensor 'layer1\.0\.se\.fc\.weight'.*--spec/);
  });
});
