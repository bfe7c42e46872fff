import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { startWebGpu } from '../../src/compute/webgpu-backend.js';
import { getMatmulEngine } from '../../src/linalg/get-matmul-engine.js';
import { TfjsMatmulEngine } from '../../src/linalg/tfjs-matmul-engine.js';
import {
  FLOAT32_UNIT_ROUNDOFF,
  operandsOfTransposedA,
  randomFloat32,
  referenceProduct,
  SeededRandom,
  worstErrorOverBound,
} from './reference-product.js';

// Runs where Dawn finds a GPU adapter (a GPU machine with libvulkan1 and the driver); elsewhere the reason it
// could not start is in the suite's name, so a skipped run says why.
const webgpu = await startWebGpu().then(
  (adapter) => ({ adapter, skipped: undefined }),
  (error: unknown) => ({
    adapter: undefined,
    skipped: error instanceof Error ? error.message : String(error),
  }),
);

describe.skipIf(webgpu.skipped !== undefined)(
  `tfjs matmul engine on WebGPU${webgpu.skipped === undefined ? '' : ` (skipped: ${webgpu.skipped})`}`,
  () => {
    const shapes: readonly (readonly [number, number, number])[] = [
      [1, 1, 1],
      [7, 5, 1],
      [33, 17, 65],
      [100, 120, 90],
      [257, 129, 300],
    ];

    it('names the adapter and matches a float64 product within float32 rounding, tensors disposed', async () => {
      const engine = await TfjsMatmulEngine.create('webgpu', { detail: webgpu.adapter });
      expect(engine.name).toMatch(/^tfjs-webgpu\(.+\)$/);
      const backend = tf.findBackend('webgpu');
      const before = backend.numDataIds();
      for (const [i, [rows, cols, depth]] of shapes.entries()) {
        const random = new SeededRandom(i + 1);
        const a = randomFloat32(rows * depth, random);
        const b = randomFloat32(cols * depth, random);
        const c = await engine.run(a, b, rows, cols, depth);
        const reference = referenceProduct(a, b, rows, cols, depth);
        expect(worstErrorOverBound(c, reference, depth, FLOAT32_UNIT_ROUNDOFF)).toBeLessThanOrEqual(1);
        // The same arrays read as Aᵀ·B operands (depth × rows, depth × cols).
        const ct = await engine.runTransposedA(a, b, rows, cols, depth);
        const referenceT = referenceProduct(
          operandsOfTransposedA(a, rows, depth),
          operandsOfTransposedA(b, cols, depth),
          rows,
          cols,
          depth,
        );
        expect(worstErrorOverBound(ct, referenceT, depth, FLOAT32_UNIT_ROUNDOFF)).toBeLessThanOrEqual(1);
      }
      expect(backend.numDataIds()).toBe(before);
    });

    it('tiles a product over a small tensor limit', async () => {
      const [rows, cols, depth] = [300, 200, 64];
      const engine = await TfjsMatmulEngine.create('webgpu', { maxTensorBytes: 4 * 64 * 50 });
      const random = new SeededRandom(7);
      const a = randomFloat32(rows * depth, random);
      const b = randomFloat32(cols * depth, random);
      const c = await engine.run(a, b, rows, cols, depth);
      expect(
        worstErrorOverBound(c, referenceProduct(a, b, rows, cols, depth), depth, FLOAT32_UNIT_ROUNDOFF),
      ).toBeLessThanOrEqual(1);
    });

    it("'webgpu' gives the tfjs engine on the GPU", async () => {
      const engine = await getMatmulEngine('webgpu');
      expect(engine).toBeInstanceOf(TfjsMatmulEngine);
      expect(engine.name).toMatch(/^tfjs-webgpu\(/);
    });
  },
);
