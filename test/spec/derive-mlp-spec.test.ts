import { describe, expect, it } from 'vitest';
import { SpecError } from '../../src/errors.js';
import { deriveSpec } from '../../src/spec/derive-spec.js';
import { axesOf, spaceSummary, tensorInfos, widthsOf } from './spec-test-helpers.js';

describe('deriveSpec for MLPs', () => {
  it('chains fc1..fc3 with biases into input → fc1 → fc2 → output', () => {
    const tensors = tensorInfos([
      ['fc1.weight', [256, 784]],
      ['fc1.bias', [256]],
      ['fc2.weight', [128, 256]],
      ['fc2.bias', [128]],
      ['fc3.weight', [10, 128]],
      ['fc3.bias', [10]],
    ]);
    const spec = deriveSpec(tensors);
    expect(spec.family).toBe('mlp');
    expect(spaceSummary(spec)).toEqual(['input:fixed', 'fc1:free', 'fc2:free', 'output:fixed']);
    expect(axesOf(spec, 'fc1.weight')).toEqual(['fc1', 'input']);
    expect(axesOf(spec, 'fc1.bias')).toEqual(['fc1']);
    expect(axesOf(spec, 'fc2.weight')).toEqual(['fc2', 'fc1']);
    expect(axesOf(spec, 'fc3.weight')).toEqual(['output', 'fc2']);
    expect(axesOf(spec, 'fc3.bias')).toEqual(['output']);
    expect(widthsOf(spec, tensors)).toEqual({ input: 784, fc1: 256, fc2: 128, output: 10 });
    expect(spec.layers).toEqual([
      { name: 'fc1', kind: 'dense', tensors: ['fc1.weight', 'fc1.bias'], input: 'input', output: 'fc1' },
      { name: 'fc2', kind: 'dense', tensors: ['fc2.weight', 'fc2.bias'], input: 'fc1', output: 'fc2' },
      { name: 'fc3', kind: 'dense', tensors: ['fc3.weight', 'fc3.bias'], input: 'fc2', output: 'output' },
    ]);
    expect(spec.attributes).toEqual({ activation: 'relu' });
    expect(spec.tensors.map((tensor) => tensor.name)).toEqual(tensors.map((tensor) => tensor.name));
  });

  it('orders layers.N numerically (layers.10 after layers.9) whatever the file order', () => {
    const tensors = tensorInfos([
      ['layers.10.weight', [3, 20]],
      ['layers.2.weight', [20, 20]],
      ['layers.0.weight', [20, 5]],
      ['layers.9.weight', [20, 20]],
      ['layers.1.weight', [20, 20]],
    ]);
    const spec = deriveSpec(tensors);
    expect(spec.layers.map((layer) => layer.name)).toEqual([
      'layers.0',
      'layers.1',
      'layers.2',
      'layers.9',
      'layers.10',
    ]);
    expect(spaceSummary(spec)).toEqual([
      'input:fixed',
      'layers.0:free',
      'layers.1:free',
      'layers.2:free',
      'layers.9:free',
      'output:fixed',
    ]);
    expect(axesOf(spec, 'layers.10.weight')).toEqual(['output', 'layers.9']);
    // Tensors stay in file order.
    expect(spec.tensors.map((tensor) => tensor.name)[0]).toBe('layers.10.weight');
  });

  it('reads an nn.Sequential with ReLUs between (net.0, net.2, net.4) without biases', () => {
    const tensors = tensorInfos([
      ['net.0.weight', [64, 32]],
      ['net.2.weight', [48, 64]],
      ['net.4.weight', [2, 48]],
    ]);
    const spec = deriveSpec(tensors);
    expect(axesOf(spec, 'net.2.weight')).toEqual(['net.2', 'net.0']);
    expect(widthsOf(spec, tensors)).toEqual({ input: 32, 'net.0': 64, 'net.2': 48, output: 2 });
  });

  it('derives a single layer as input → output, and takes the activation from the config', () => {
    const tensors = tensorInfos([
      ['linear.weight', [10, 784]],
      ['linear.bias', [10]],
    ]);
    const spec = deriveSpec(tensors, { config: { activation: 'gelu' } });
    expect(spaceSummary(spec)).toEqual(['input:fixed', 'output:fixed']);
    expect(spec.attributes['activation']).toBe('gelu');
  });

  it('rejects a layer whose input width differs from the previous output, naming both tensors', () => {
    const tensors = tensorInfos([
      ['fc1.weight', [256, 784]],
      ['fc2.weight', [10, 300]],
    ]);
    expect(() => deriveSpec(tensors)).toThrow(SpecError);
    expect(() => deriveSpec(tensors)).toThrow(
      "tensor 'fc2.weight' axis 1 has length 300 but the previous layer's tensor 'fc1.weight' axis 0 has length 256",
    );
  });

  it('rejects a bias whose length is not the layer output, naming tensor and axis', () => {
    const tensors = tensorInfos([
      ['fc1.weight', [256, 784]],
      ['fc1.bias', [255]],
      ['fc2.weight', [10, 256]],
    ]);
    expect(() => deriveSpec(tensors)).toThrow(
      "tensor 'fc1.bias' axis 0 has length 255 but spaces [fc1 (width 256)] need 256",
    );
  });

  it('rejects a tensor that is not part of a dense layer and suggests --spec', () => {
    const tensors = tensorInfos([
      ['fc1.weight', [256, 784]],
      ['fc1.scale', [256]],
    ]);
    expect(() => deriveSpec(tensors)).toThrow(/cannot place tensor 'fc1\.scale'.*--spec/);
    const orphanBias = tensorInfos([
      ['fc1.weight', [256, 784]],
      ['norm.bias', [256]],
    ]);
    expect(() => deriveSpec(orphanBias, { family: 'mlp' })).toThrow(
      /cannot place tensor 'norm\.bias'.*--spec/,
    );
  });
});
