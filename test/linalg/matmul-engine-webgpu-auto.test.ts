import '@tensorflow/tfjs-backend-cpu';
import { describe, expect, it, vi } from 'vitest';
import type { TfjsMatmulEngine, TfjsMatmulOptions } from '../../src/linalg/tfjs-matmul-engine.js';

// As on a GPU machine, with tfjs's cpu backend standing in for the GPU: the loader is there, Dawn starts, and the
// engine built for 'webgpu' is a real tfjs engine (on cpu), so the choice of engine per product is what is tested.
const { requested, created } = vi.hoisted(() => ({
  requested: [] as { backend: string; options: TfjsMatmulOptions | undefined }[],
  created: [] as TfjsMatmulEngine[],
}));
vi.mock('../../src/compute/vulkan-loader.js', () => ({ missingVulkanLoader: () => undefined }));
vi.mock('../../src/compute/webgpu-backend.js', () => ({ startWebGpu: async () => 'stand-in adapter' }));
vi.mock('../../src/linalg/tfjs-matmul-engine.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/linalg/tfjs-matmul-engine.js')>();
  return {
    TfjsMatmulEngine: {
      create: async (backend: string, options?: TfjsMatmulOptions) => {
        requested.push({ backend, options });
        const engine = await original.TfjsMatmulEngine.create('cpu', options);
        created.push(engine);
        return engine;
      },
    },
  };
});

const { getMatmulEngine, DEFAULT_GPU_MIN_MULTIPLY_ADDS } = await import(
  '../../src/linalg/get-matmul-engine.js'
);

describe('getMatmulEngine where WebGPU starts', () => {
  it("'auto' sends large products to the GPU engine, middle ones to onnxruntime, tiny ones to TypeScript", async () => {
    const engine = await getMatmulEngine('auto');
    expect(requested).toEqual([{ backend: 'webgpu', options: { detail: 'stand-in adapter' } }]);
    expect(engine.name).toMatch(/^tfjs-cpu\(stand-in adapter\), onnxruntime-gemm-f32/);
    const gpuRun = vi.spyOn(created[0], 'run');
    const gpuRunTransposedA = vi.spyOn(created[0], 'runTransposedA');

    const square = (n: number) => [new Float32Array(n * n), new Float32Array(n * n), n, n, n] as const;
    const large = Math.ceil(Math.cbrt(DEFAULT_GPU_MIN_MULTIPLY_ADDS)) + 1;
    expect(await engine.run(...square(large))).toBeInstanceOf(Float32Array);
    expect(gpuRun).toHaveBeenCalledTimes(1);
    await engine.runTransposedA?.(...square(large));
    expect(gpuRunTransposedA).toHaveBeenCalledTimes(1);

    expect(await engine.run(...square(64))).toBeInstanceOf(Float32Array);
    expect(await engine.run(...square(4))).toBeInstanceOf(Float64Array);
    expect(gpuRun).toHaveBeenCalledTimes(1);

    // Tried once: a second call is the same engine, no second start.
    expect(await getMatmulEngine('auto')).toBe(engine);
    expect(requested).toHaveLength(1);
  });

  it("'webgpu' is the GPU engine alone, for every product", async () => {
    const engine = await getMatmulEngine('webgpu');
    expect(requested.at(-1)?.backend).toBe('webgpu');
    expect(engine).toBe(created.at(-1));
    expect(await engine.run(Float32Array.of(1, 2), Float32Array.of(3, 4), 1, 1, 2)).toEqual(
      Float32Array.of(11),
    );
  });
});
