import { describe, expect, it } from 'vitest';
import { rangeIndex } from '../../src/align/gather-tensor.js';
import { type OccurrenceProductTask, occurrenceProduct } from '../../src/align/occurrence-product.js';
import { OnnxruntimeMatmulEngine } from '../../src/linalg/onnxruntime-matmul-engine.js';
import { SeededRandom } from '../../src/random/seeded-random.js';

function randomMatrix(random: SeededRandom, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => random.next() - 0.5);
}

describe('occurrenceProduct of a whole weight matrix with its columns as units', () => {
  // 40 × 12 columns as units: a 12² product, smaller than its operands (Aᵀ·B in one call); 6 × 40: a 40² product,
  // larger than its operands (transposed copies, row blocks).
  it.each([
    [40, 12],
    [6, 40],
  ])('%i × %i: entry (x, y) is Σ_k base[k, x] · target[rowMap(k), y]', async (depth, units) => {
    const random = new SeededRandom(depth);
    const targetRows = depth - 1;
    const base = randomMatrix(random, depth * units);
    const target = randomMatrix(random, targetRows * units);
    // A permutation of the target's rows with one base row unmatched (the narrower target is zero-padded).
    const rowMap = Int32Array.from(random.permutation(depth), (r) => (r === targetRows ? -1 : r));
    const task: OccurrenceProductTask = {
      key: 'w#1#0',
      baseName: 'w',
      targetName: 'w',
      axis: 1,
      baseOffset: 0,
      baseLength: units,
      targetIndices: [rowMap, rangeIndex(0, units)],
      rows: units,
      cols: units,
      wholeMatrix: true,
    };
    const engine = await OnnxruntimeMatmulEngine.create({ threads: 1 });
    const product = await occurrenceProduct(
      task,
      {
        base: async () => ({ shape: [depth, units], data: base }),
        target: async () => ({ shape: [targetRows, units], data: target }),
      },
      engine,
    );
    await engine.dispose();
    for (let x = 0; x < units; x++) {
      for (let y = 0; y < units; y++) {
        let expected = 0;
        for (let k = 0; k < depth; k++)
          if (rowMap[k] >= 0) expected += base[k * units + x] * target[rowMap[k] * units + y];
        expect(product[x * units + y]).toBeCloseTo(expected, 4);
      }
    }
  });
});
