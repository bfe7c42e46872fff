import { describe, expect, it } from 'vitest';
import { SpecError } from '../../src/errors.js';
import type { ArchitectureSpec, TensorSpec } from '../../src/spec/architecture-spec.js';
import { computeSpaceWidths } from '../../src/spec/space-widths.js';

const MLP_SPEC: ArchitectureSpec = {
  family: 'custom',
  spaces: [
    { name: 'input', kind: 'fixed' },
    { name: 'fc1', kind: 'free' },
    { name: 'output', kind: 'fixed' },
  ],
  tensors: [
    { name: 'fc1.weight', axes: [[{ space: 'fc1', block: 1 }], [{ space: 'input', block: 1 }]], merge: true },
    {
      name: 'fc2.weight',
      axes: [[{ space: 'output', block: 1 }], [{ space: 'fc1', block: 1 }]],
      merge: true,
    },
  ],
  layers: [],
  attributes: {},
};

function shapes(entries: Record<string, number[]>): Map<string, readonly number[]> {
  return new Map(Object.entries(entries));
}

function withTensors(tensors: readonly TensorSpec[], spaces = MLP_SPEC.spaces): ArchitectureSpec {
  return { ...MLP_SPEC, spaces, tensors };
}

describe('computeSpaceWidths', () => {
  it('solves every space from the axes', () => {
    const widths = computeSpaceWidths(
      MLP_SPEC,
      shapes({ 'fc1.weight': [256, 784], 'fc2.weight': [10, 256] }),
    );
    expect(Object.fromEntries(widths)).toEqual({ fc1: 256, input: 784, output: 10 });
  });

  it('names tensor, axis and spaces when an axis does not fit', () => {
    const call = () =>
      computeSpaceWidths(MLP_SPEC, shapes({ 'fc1.weight': [256, 784], 'fc2.weight': [10, 300] }));
    expect(call).toThrow(SpecError);
    expect(call).toThrow("tensor 'fc2.weight' axis 1 has length 300 but spaces [fc1 (width 256)] need 256");
  });

  it('solves a space from an axis of several parts once the other spaces are known', () => {
    // Axis 0 of `mixed` is [a | b*2 | b*2]: b is solved only after a is known from `only_a`, listed later.
    const spec = withTensors(
      [
        {
          name: 'mixed',
          axes: [
            [
              { space: 'a', block: 1 },
              { space: 'b', block: 2 },
              { space: 'b', block: 2 },
            ],
          ],
          merge: true,
        },
        { name: 'only_a', axes: [[{ space: 'a', block: 3 }]], merge: true },
      ],
      [
        { name: 'a', kind: 'free' },
        { name: 'b', kind: 'free' },
      ],
    );
    const widths = computeSpaceWidths(spec, shapes({ mixed: [5 + 4 * 6], only_a: [15] }));
    expect(Object.fromEntries(widths)).toEqual({ a: 5, b: 6 });
  });

  it('reports a space no axis can determine', () => {
    const spec = withTensors(
      [
        {
          name: 'mixed',
          axes: [
            [
              { space: 'a', block: 1 },
              { space: 'b', block: 1 },
            ],
          ],
          merge: true,
        },
      ],
      [
        { name: 'a', kind: 'free' },
        { name: 'b', kind: 'free' },
      ],
    );
    expect(() => computeSpaceWidths(spec, shapes({ mixed: [10] }))).toThrow(
      "cannot determine the width of space 'a': every axis that holds it also holds another space of unknown width",
    );
  });

  it('reports a declared space no tensor uses', () => {
    const spec = withTensors(MLP_SPEC.tensors, [...MLP_SPEC.spaces, { name: 'spare', kind: 'free' }]);
    expect(() => computeSpaceWidths(spec, shapes({ 'fc1.weight': [4, 3], 'fc2.weight': [2, 4] }))).toThrow(
      "space 'spare' is declared but no tensor axis belongs to it",
    );
  });

  it('rejects a spec tensor missing from the model', () => {
    expect(() => computeSpaceWidths(MLP_SPEC, shapes({ 'fc1.weight': [4, 3] }))).toThrow(
      "spec tensor 'fc2.weight' is not in the model",
    );
  });

  it('rejects a model tensor missing from the spec', () => {
    expect(() =>
      computeSpaceWidths(MLP_SPEC, shapes({ 'fc1.weight': [4, 3], 'fc2.weight': [2, 4], 'fc2.bias': [2] })),
    ).toThrow("model tensor 'fc2.bias' is not described by the spec");
  });

  it('rejects a rank mismatch', () => {
    expect(() =>
      computeSpaceWidths(MLP_SPEC, shapes({ 'fc1.weight': [4, 3, 1], 'fc2.weight': [2, 4] })),
    ).toThrow("tensor 'fc1.weight' has rank 3 (shape [4, 3, 1]) but the spec gives it 2 axes");
  });

  it('rejects a space referenced but not declared', () => {
    const spec = withTensors([{ name: 'w', axes: [[{ space: 'h9', block: 1 }]], merge: true }]);
    expect(() => computeSpaceWidths(spec, shapes({ w: [3] }))).toThrow(
      "tensor 'w' axis 0 refers to space 'h9', which the spec does not declare",
    );
  });

  it('rejects a block that is not a positive integer', () => {
    for (const block of [0, -2, 1.5]) {
      const spec = withTensors([{ name: 'w', axes: [[{ space: 'fc1', block }]], merge: true }]);
      expect(() => computeSpaceWidths(spec, shapes({ w: [3] }))).toThrow(
        `tensor 'w' axis 0 has block ${block}; a block must be a positive integer`,
      );
    }
  });

  it('rejects an axis a space cannot fill whole', () => {
    const spec = withTensors(
      [{ name: 'w', axes: [[{ space: 'fc1', block: 4 }]], merge: true }],
      [{ name: 'fc1', kind: 'free' }],
    );
    expect(() => computeSpaceWidths(spec, shapes({ w: [10] }))).toThrow(
      "tensor 'w' axis 0 has length 10 but spaces [fc1*4] cannot fill it",
    );
  });

  it('ignores null axes and accepts scalars', () => {
    const spec = withTensors(
      [
        { name: 'conv', axes: [[{ space: 'fc1', block: 1 }], null, null], merge: true },
        { name: 'steps', axes: [], merge: false },
      ],
      [{ name: 'fc1', kind: 'free' }],
    );
    expect(Object.fromEntries(computeSpaceWidths(spec, shapes({ conv: [8, 3, 3], steps: [] })))).toEqual({
      fc1: 8,
    });
  });
});
