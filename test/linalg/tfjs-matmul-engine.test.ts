// A used binding, not a bare import: importing the package is what registers the cpu backend and its kernels.
import { version_cpu } from '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it, vi } from 'vitest';
import { runTransposedA } from '../../src/linalg/matmul-engine.js';
import { MatmulEngineError } from '../../src/linalg/matmul-engine-error.js';
import { TfjsMatmulEngine, type TfjsTransposeSite } from '../../src/linalg/tfjs-matmul-engine.js';
import { TypescriptMatmulEngine } from '../../src/linalg/typescript-matmul-engine.js';
import {
  FLOAT32_UNIT_ROUNDOFF,
  operandsOfTransposedA,
  randomFloat32,
  referenceProduct,
  SeededRandom,
  worstErrorOverBound,
} from './reference-product.js';

type Shape = readonly [rows: number, cols: number, depth: number];

const typescript = new TypescriptMatmulEngine();

/** Random shapes up to 70 on a side, odd sizes included, seeded so a failure reproduces. */
function randomShapes(count: number, seed: number): Shape[] {
  const random = new SeededRandom(seed);
  const side = () => 1 + Math.floor(random.next() * 70);
  return Array.from({ length: count }, () => [side(), side(), side()] as const);
}

const fixedShapes: readonly Shape[] = [
  [1, 1, 1],
  [7, 5, 1],
  [1, 9, 13],
  [33, 17, 65],
  [64, 3, 200],
];

/** The backend's live data ids and tfjs's tracked tensors: both must be back where they were after each call. */
function liveTensors(backendName: string): { dataIds: number; tensors: number } {
  return { dataIds: tf.findBackend(backendName).numDataIds(), tensors: tf.memory().numTensors };
}

/**
 * Runs `A·Bᵀ` and `Aᵀ·B` on `engine` and on the TypeScript engine (float64) for one shape, and checks the engine's
 * float32 result is within the float32 worst-case bound of it, that the operands are untouched, and that the
 * engine left no tensor on its backend.
 */
async function expectMatchesTypescript(engine: TfjsMatmulEngine, [rows, cols, depth]: Shape, seed: number) {
  const random = new SeededRandom(seed);
  const a = randomFloat32(rows * depth, random);
  const b = randomFloat32(cols * depth, random);
  const [aCopy, bCopy] = [a.slice(), b.slice()];
  const before = liveTensors(engine.backendName);

  const c = await engine.run(a, b, rows, cols, depth);
  expect(c).toBeInstanceOf(Float32Array);
  expect(c.length).toBe(rows * cols);
  const reference = {
    product: await typescript.run(a, b, rows, cols, depth),
    magnitude: referenceProduct(a, b, rows, cols, depth).magnitude,
  };
  expect(worstErrorOverBound(c, reference, depth, FLOAT32_UNIT_ROUNDOFF)).toBeLessThanOrEqual(1);

  // The same data read as A (depth × rows) and B (depth × cols) for Aᵀ·B.
  const ct = await engine.runTransposedA(a, b, rows, cols, depth);
  expect(ct.length).toBe(rows * cols);
  const at = operandsOfTransposedA(a, rows, depth);
  const bt = operandsOfTransposedA(b, cols, depth);
  const referenceT = {
    product: Float64Array.from(await runTransposedA(typescript, a, b, rows, cols, depth)),
    magnitude: referenceProduct(at, bt, rows, cols, depth).magnitude,
  };
  expect(worstErrorOverBound(ct, referenceT, depth, FLOAT32_UNIT_ROUNDOFF)).toBeLessThanOrEqual(1);

  expect(a).toEqual(aCopy);
  expect(b).toEqual(bCopy);
  expect(liveTensors(engine.backendName)).toEqual(before);
}

describe('tfjs matmul engine on the cpu backend', () => {
  // First in the file: nothing has chosen tfjs's current backend yet.
  it('keeps working when tfjs later builds a fresh instance of its backend', async () => {
    expect(tf.engine().backendName ?? null).toBeNull();
    const engine = await TfjsMatmulEngine.create('cpu');
    const initialised = tf.findBackend('cpu');
    expect(await engine.run(Float32Array.of(1, 2), Float32Array.of(3, 4), 1, 1, 2)).toEqual(
      Float32Array.of(11),
    );
    expect(tf.findBackend('cpu')).toBe(initialised);
    // The first operation without a current backend makes tfjs initialise its best one again.
    tf.tidy(() => tf.scalar(1));
    const fresh = tf.findBackend('cpu');
    expect(fresh).not.toBe(initialised);
    // The engine follows: its operands go to the instance tfjs now uses (one backend, not two, holds GPU memory).
    const writes = vi.spyOn(fresh, 'write');
    await expectMatchesTypescript(engine, [3, 4, 5], 2);
    expect(writes).toHaveBeenCalled();
    writes.mockRestore();
  });

  it('names its backend and runs on tfjs-backend-cpu', async () => {
    const engine = await TfjsMatmulEngine.create('cpu');
    expect(engine.name).toBe('tfjs-cpu');
    expect(engine.maxTensorElements).toBe(Number.POSITIVE_INFINITY);
    expect((await TfjsMatmulEngine.create('cpu', { detail: `tfjs ${version_cpu}` })).name).toBe(
      'tfjs-cpu(tfjs 4.22.0)',
    );
  });

  it.each<TfjsTransposeSite>(['kernel', 'host'])(
    'matches the TypeScript engine, transposes on the %s',
    async (site) => {
      const engine = await TfjsMatmulEngine.create('cpu', { transposeSite: site });
      const shapes = [...fixedShapes, ...randomShapes(6, site === 'kernel' ? 11 : 12)];
      for (const [i, shape] of shapes.entries()) await expectMatchesTypescript(engine, shape, 100 + i);
    },
  );

  it.each<Shape>([
    [0, 5, 3],
    [4, 0, 3],
    [0, 0, 3],
    [4, 5, 0],
    [0, 0, 0],
  ])('empty dimensions %i×%i·%i give the right size, zeros for zero depth', async (rows, cols, depth) => {
    const engine = await TfjsMatmulEngine.create('cpu');
    const before = liveTensors('cpu');
    for (const product of [engine.run, engine.runTransposedA]) {
      const c = await product.call(
        engine,
        new Float32Array(rows * depth),
        new Float32Array(cols * depth),
        rows,
        cols,
        depth,
      );
      expect(c.length).toBe(rows * cols);
      expect(c.every((x) => x === 0)).toBe(true);
    }
    expect(liveTensors('cpu')).toEqual(before);
  });

  it('rejects operands of the wrong size, leaving no tensor behind', async () => {
    const engine = await TfjsMatmulEngine.create('cpu');
    const before = liveTensors('cpu');
    await expect(engine.run(new Float32Array(5), new Float32Array(6), 2, 3, 2)).rejects.toThrow(RangeError);
    await expect(engine.runTransposedA(new Float32Array(4), new Float32Array(5), 2, 3, 2)).rejects.toThrow(
      RangeError,
    );
    expect(liveTensors('cpu')).toEqual(before);
  });
});

describe('tfjs matmul engine tiles products over its tensor limit', () => {
  // [rows, cols, depth] and the limit in elements: each case forces a different tiling.
  const cases: readonly [string, Shape, number][] = [
    ['row blocks of A (B fits whole)', [23, 11, 17], 11 * 17],
    ['row blocks of A and of B (column blocks of C)', [23, 11, 17], 4 * 17 + 3],
    ['one row and one column per call', [9, 7, 17], 17],
    ['Aᵀ·B in depth blocks', [6, 5, 40], 6 * 7],
    ['Aᵀ·B whose result alone exceeds the limit (through host transposes)', [12, 10, 30], 100],
  ];
  it.each(cases)('%s', async (_, shape, elements) => {
    for (const transposeSite of ['kernel', 'host'] as const) {
      const engine = await TfjsMatmulEngine.create('cpu', {
        maxTensorBytes: 4 * elements + 2,
        transposeSite,
      });
      expect(engine.maxTensorElements).toBe(elements);
      await expectMatchesTypescript(engine, shape, elements);
    }
  });

  it('refuses a depth larger than one tensor may hold, naming the limit', async () => {
    const engine = await TfjsMatmulEngine.create('cpu', { maxTensorBytes: 64 });
    await expect(engine.run(new Float32Array(17), new Float32Array(17), 1, 1, 17)).rejects.toThrow(
      new MatmulEngineError(
        'tfjs-cpu: one row of depth 17 does not fit in the 64 bytes a tensor may hold on this backend',
      ),
    );
  });

  it('rejects a limit below one float', async () => {
    await expect(TfjsMatmulEngine.create('cpu', { maxTensorBytes: 3 })).rejects.toThrow(RangeError);
  });
});

describe('tfjs matmul engine on a backend that is not there', () => {
  it('rejects with the names of the registered backends', async () => {
    await expect(TfjsMatmulEngine.create('no-such-backend')).rejects.toThrow(
      /no TensorFlow\.js backend named 'no-such-backend' is registered \(registered: .*cpu/,
    );
  });
});
