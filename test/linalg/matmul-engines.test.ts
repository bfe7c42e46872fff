import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { getMatmulEngine } from '../../src/linalg/get-matmul-engine.js';
import { type MatmulTransposedEngine, runTransposedA } from '../../src/linalg/matmul-engine.js';
import { MatmulEngineError } from '../../src/linalg/matmul-engine-error.js';
import { MATMUL_ENGINE_ENV } from '../../src/linalg/matmul-engine-preference.js';
import { OnnxruntimeMatmulEngine } from '../../src/linalg/onnxruntime-matmul-engine.js';
import { SizeSwitchingMatmulEngine } from '../../src/linalg/size-switching-matmul-engine.js';
import { TypescriptMatmulEngine } from '../../src/linalg/typescript-matmul-engine.js';
import {
  FLOAT32_UNIT_ROUNDOFF,
  FLOAT64_UNIT_ROUNDOFF,
  randomFloat32,
  referenceProduct,
  SeededRandom,
  worstErrorOverBound,
} from './reference-product.js';

// This machine has no WebGPU adapter; on one that has, `auto` rightly puts large products on the GPU.
const bareMachine = process.env['MAL_TEST_BACKENDS'] === undefined;

type Shape = readonly [rows: number, cols: number, depth: number];

const shapes: readonly Shape[] = [
  [1, 1, 1],
  [7, 5, 1],
  [1, 9, 13],
  [16, 16, 16],
  [33, 17, 65],
  [64, 3, 200],
  [5, 70, 31],
  [100, 120, 90],
];

let onnxruntime: OnnxruntimeMatmulEngine;
let engines: { engine: MatmulTransposedEngine; unitRoundoff: number }[];

beforeAll(async () => {
  onnxruntime = await OnnxruntimeMatmulEngine.create({ threads: 2 });
  engines = [
    { engine: new TypescriptMatmulEngine(), unitRoundoff: FLOAT64_UNIT_ROUNDOFF },
    { engine: onnxruntime, unitRoundoff: FLOAT32_UNIT_ROUNDOFF },
    // Mixed: small products in float64, large ones in float32; the float32 bound covers both.
    {
      engine: new SizeSwitchingMatmulEngine(new TypescriptMatmulEngine(), onnxruntime, 2000),
      unitRoundoff: FLOAT32_UNIT_ROUNDOFF,
    },
  ];
});

afterAll(async () => {
  await onnxruntime.dispose();
});

async function expectMatchesReference(
  engine: MatmulTransposedEngine,
  unitRoundoff: number,
  [rows, cols, depth]: Shape,
  seed: number,
): Promise<void> {
  const random = new SeededRandom(seed);
  const a = randomFloat32(rows * depth, random);
  const b = randomFloat32(cols * depth, random);
  const aCopy = a.slice();
  const bCopy = b.slice();
  const c = await engine.run(a, b, rows, cols, depth);
  expect(c.length).toBe(rows * cols);
  expect(
    worstErrorOverBound(c, referenceProduct(a, b, rows, cols, depth), depth, unitRoundoff),
  ).toBeLessThanOrEqual(1);
  expect(a).toEqual(aCopy);
  expect(b).toEqual(bCopy);
}

describe('matmul engines against a float64 triple loop', () => {
  it.each(shapes)('%i×%i·%i on every engine', async (rows, cols, depth) => {
    for (const { engine, unitRoundoff } of engines) {
      await expectMatchesReference(
        engine,
        unitRoundoff,
        [rows, cols, depth],
        rows * 1000 + cols * 10 + depth,
      );
    }
  });

  it('the TypeScript engine is float64 and the onnxruntime engine float32', async () => {
    const a = Float32Array.from([1, 2 ** -30]);
    const b = Float32Array.from([1, 1]);
    // 1 + 2⁻³⁰ is exact in float64 and rounds to 1 in float32.
    expect((await new TypescriptMatmulEngine().run(a, b, 1, 1, 2))[0]).toBe(1 + 2 ** -30);
    expect((await onnxruntime.run(a, b, 1, 1, 2))[0]).toBe(1);
  });

  it.each<Shape>([
    [0, 5, 3],
    [4, 0, 3],
    [0, 0, 3],
    [4, 5, 0],
    [0, 0, 0],
  ])('empty dimensions %i×%i·%i give the right size, zeros for zero depth', async (rows, cols, depth) => {
    for (const { engine } of engines) {
      const c = await engine.run(
        new Float32Array(rows * depth),
        new Float32Array(cols * depth),
        rows,
        cols,
        depth,
      );
      expect(c.length).toBe(rows * cols);
      expect(Array.from(c).every((x) => x === 0)).toBe(true);
    }
  });

  it('rejects operands of the wrong size', async () => {
    for (const { engine } of engines) {
      await expect(engine.run(new Float32Array(5), new Float32Array(6), 2, 3, 2)).rejects.toThrow(RangeError);
      await expect(engine.run(new Float32Array(4), new Float32Array(5), 2, 3, 2)).rejects.toThrow(RangeError);
      await expect(engine.run(new Float32Array(4), new Float32Array(6), 2, 3, 2.5)).rejects.toThrow(
        RangeError,
      );
    }
  });

  it('products add up across occurrences the way the cost-matrix builder adds them', async () => {
    const random = new SeededRandom(5);
    const [rows, cols] = [12, 9];
    const cost = new Float64Array(rows * cols);
    const expected = new Float64Array(rows * cols);
    for (const depth of [40, 1, 77]) {
      const a = randomFloat32(rows * depth, random);
      const b = randomFloat32(cols * depth, random);
      const product = await onnxruntime.run(a, b, rows, cols, depth);
      for (let i = 0; i < product.length; i++) cost[i] += product[i];
      const reference = referenceProduct(a, b, rows, cols, depth).product;
      for (let i = 0; i < reference.length; i++) expected[i] += reference[i];
    }
    for (let i = 0; i < cost.length; i++) expect(cost[i]).toBeCloseTo(expected[i], 4);
  });
});

describe('Aᵀ·B for operands that hold their units along the second axis', () => {
  it.each(shapes)(
    '%i×%i·%i on every engine, natively or through the transposing fallback',
    async (rows, cols, depth) => {
      const random = new SeededRandom(rows * 7 + cols * 3 + depth);
      const a = randomFloat32(rows * depth, random);
      const b = randomFloat32(cols * depth, random);
      // The reference multiplies the row-major transposes, built here by plain loops.
      const transposed = (m: Float32Array, r: number, c: number) => {
        const out = new Float32Array(m.length);
        for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = m[i * c + j];
        return out;
      };
      const aT = transposed(a, rows, depth);
      const bT = transposed(b, cols, depth);
      const reference = referenceProduct(a, b, rows, cols, depth);
      for (const { engine, unitRoundoff } of engines) {
        const c = await runTransposedA(engine, aT, bT, rows, cols, depth);
        expect(worstErrorOverBound(c, reference, depth, unitRoundoff)).toBeLessThanOrEqual(1);
      }
    },
  );

  it('onnxruntime has it natively; the TypeScript engine goes through the fallback', () => {
    expect(onnxruntime.runTransposedA).toBeDefined();
    expect((new TypescriptMatmulEngine() as MatmulTransposedEngine).runTransposedA).toBeUndefined();
  });
});

describe('onnxruntime row blocks', () => {
  const [rows, cols, depth] = [23, 11, 17];
  const random = new SeededRandom(9);
  const a = randomFloat32(rows * depth, random);
  const b = randomFloat32(cols * depth, random);
  const reference = referenceProduct(a, b, rows, cols, depth);

  it.each([
    ['one row per call, budget below one row', 5],
    ['one row per call, budget exactly one row', depth],
    ['one row per call, budget just under two rows', 2 * depth - 1],
    ['blocks of 2 rows', 2 * depth],
    ['blocks of 4 rows, last block shorter', 4 * depth + 3],
    ['one block one row short of all rows', (rows - 1) * depth],
    ['all rows at once, exactly', rows * depth],
    ['all rows at once, budget larger', 10 * rows * depth],
  ])('%s', async (_, maxRowBlockElements) => {
    const engine = await OnnxruntimeMatmulEngine.create({ threads: 1, maxRowBlockElements });
    try {
      const c = await engine.run(a, b, rows, cols, depth);
      expect(worstErrorOverBound(c, reference, depth, FLOAT32_UNIT_ROUNDOFF)).toBeLessThanOrEqual(1);
    } finally {
      await engine.dispose();
    }
  });

  it('rejects a budget below one element', async () => {
    await expect(OnnxruntimeMatmulEngine.create({ maxRowBlockElements: 0 })).rejects.toThrow(RangeError);
  });
});

describe('getMatmulEngine', () => {
  it("'typescript' forces the float64 TypeScript engine", async () => {
    const engine = await getMatmulEngine('typescript');
    expect(engine).toBeInstanceOf(TypescriptMatmulEngine);
    await expectMatchesReference(engine, FLOAT64_UNIT_ROUNDOFF, [40, 30, 50], 3);
  });

  it("'onnxruntime' gives the onnxruntime engine, and the same one on every call", async () => {
    const engine = await getMatmulEngine('onnxruntime');
    expect(engine).toBeInstanceOf(OnnxruntimeMatmulEngine);
    expect(await getMatmulEngine('onnxruntime')).toBe(engine);
  });

  it.runIf(bareMachine)(
    "'webgpu' without a GPU adapter rejects, naming why, and never falls back",
    async () => {
      const attempt = getMatmulEngine('webgpu');
      await expect(attempt).rejects.toThrow(MatmulEngineError);
      await expect(attempt).rejects.toThrow(
        /^matmul engine 'webgpu' was requested but cannot start: no Vulkan loader \(libvulkan\.so\.1\) found/,
      );
    },
  );

  it('MAL_MATMUL sets the default preference', async () => {
    const saved = process.env[MATMUL_ENGINE_ENV];
    process.env[MATMUL_ENGINE_ENV] = 'TypeScript';
    try {
      expect(await getMatmulEngine()).toBeInstanceOf(TypescriptMatmulEngine);
      process.env[MATMUL_ENGINE_ENV] = 'cuda';
      expect(() => getMatmulEngine()).toThrow(UsageError);
    } finally {
      if (saved === undefined) delete process.env[MATMUL_ENGINE_ENV];
      else process.env[MATMUL_ENGINE_ENV] = saved;
    }
  });

  it.runIf(bareMachine)("'auto' (the default) switches by size where onnxruntime loads", async () => {
    const engine = await getMatmulEngine();
    expect(engine).toBeInstanceOf(SizeSwitchingMatmulEngine);
    expect(await getMatmulEngine('auto')).toBe(engine);
    // Tiny products stay on the float64 path.
    expect(await engine.run(new Float32Array(4), new Float32Array(6), 2, 3, 2)).toBeInstanceOf(Float64Array);
    expect(await engine.run(new Float32Array(64 * 64), new Float32Array(64 * 64), 64, 64, 64)).toBeInstanceOf(
      Float32Array,
    );
  });
});
