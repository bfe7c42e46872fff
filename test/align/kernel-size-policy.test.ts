import { describe, expect, it } from 'vitest';
import { planAlignment, withTensors } from '../../src/align/alignment-problem.js';
import { mapTargetTensor } from '../../src/align/apply-maps.js';
import { weightMatching } from '../../src/align/weight-matching.js';
import { IncompatibleModelsError } from '../../src/errors.js';
import { SeededRandom } from '../../src/random/seeded-random.js';
import { deriveSpec } from '../../src/spec/derive-spec.js';
import { computeSpaceWidths } from '../../src/spec/space-widths.js';
import type { FloatTensor } from '../../src/tensor/tensor.js';

function cnn(kernel: number, seed: number): Map<string, FloatTensor> {
  const random = new SeededRandom(seed);
  const t = (shape: number[]) => ({
    shape,
    data: random.normalArray(
      shape.reduce((a, b) => a * b, 1),
      0.3,
    ),
  });
  return new Map([
    ['conv1.weight', t([3, 1, kernel, kernel])],
    ['conv1.bias', t([3])],
    ['fc.weight', t([2, 3 * 16])],
    ['fc.bias', t([2])],
  ]);
}

function side(tensors: Map<string, FloatTensor>) {
  const infos = [...tensors].map(([name, t]) => ({ name, dtype: 'F32' as const, shape: t.shape }));
  const spec = deriveSpec(infos);
  return { spec, widths: computeSpaceWidths(spec, new Map(infos.map((i) => [i.name, i.shape]))) };
}

describe('convolution kernels of different sizes', () => {
  const base = cnn(5, 1);
  const target = cnn(3, 2);

  it('are declared incompatible by default, naming the tensor', async () => {
    const problem = withTensors(planAlignment(side(base), side(target)), base, target);
    await expect(weightMatching(problem)).rejects.toThrow(IncompatibleModelsError);
    await expect(weightMatching(problem)).rejects.toThrow(/conv1\.weight.*kernel size 3.*5/);
  });

  it('are centre-padded into a larger base kernel with --kernel centre', async () => {
    const problem = withTensors(planAlignment(side(base), side(target)), base, target);
    const result = await weightMatching(problem, { kernel: 'centre' });
    const pair = problem.pairs.find((p) => p.baseName === 'conv1.weight')!;
    const mapped = mapTargetTensor({ ...pair, baseShape: pair.base.shape }, result.maps, 'centre');
    expect(mapped.shape).toEqual([3, 1, 5, 5]);
    const outMap = result.maps.get('conv1')!.map;
    for (let o = 0; o < 3; o++) {
      for (let y = 0; y < 5; y++) {
        for (let x = 0; x < 5; x++) {
          const inside = y >= 1 && y <= 3 && x >= 1 && x <= 3;
          const expected = inside
            ? target.get('conv1.weight')!.data[outMap[o] * 9 + (y - 1) * 3 + (x - 1)]
            : 0;
          expect(mapped.data[o * 25 + y * 5 + x]).toBe(expected);
        }
      }
    }
  });

  it('are centre-cropped from a larger target kernel', async () => {
    const problem = withTensors(planAlignment(side(target), side(base)), target, base);
    const result = await weightMatching(problem, { kernel: 'centre' });
    const pair = problem.pairs.find((p) => p.baseName === 'conv1.weight')!;
    const mapped = mapTargetTensor({ ...pair, baseShape: pair.base.shape }, result.maps, 'centre');
    const outMap = result.maps.get('conv1')!.map;
    for (let o = 0; o < 3; o++) {
      for (let y = 0; y < 3; y++) {
        for (let x = 0; x < 3; x++) {
          expect(mapped.data[o * 9 + y * 3 + x]).toBe(
            base.get('conv1.weight')!.data[outMap[o] * 25 + (y + 1) * 5 + (x + 1)],
          );
        }
      }
    }
  });
});
