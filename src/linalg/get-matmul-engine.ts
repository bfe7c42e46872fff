import { existsSync } from 'node:fs';
import { missingVulkanLoader } from '../compute/vulkan-loader.js';
import type { MatmulTransposedEngine } from './matmul-engine.js';
import { MatmulEngineError } from './matmul-engine-error.js';
import { type MatmulEnginePreference, matmulEnginePreferenceFromEnv } from './matmul-engine-preference.js';
import { OnnxruntimeMatmulEngine } from './onnxruntime-matmul-engine.js';
import { SizeSwitchingMatmulEngine } from './size-switching-matmul-engine.js';
import type { TfjsMatmulEngine } from './tfjs-matmul-engine.js';
import { TypescriptMatmulEngine } from './typescript-matmul-engine.js';

/**
 * Under `auto` with a GPU, products up to this many multiply-adds stay on the CPU engines. Not yet measured: a
 * guess that a GPU round trip (upload, dispatch, read-back) costs about as much as 256³ multiply-adds on
 * onnxruntime; bench/gpu-matmul-check.ts times the crossover on a GPU machine.
 */
export const DEFAULT_GPU_MIN_MULTIPLY_ADDS = 1 << 24;

/** One engine per preference per process: the GPU device and the onnxruntime session are set up once. */
const engines = new Map<MatmulEnginePreference, Promise<MatmulTransposedEngine>>();

/**
 * The engine for cost-matrix products; the preference defaults to `MAL_MATMUL`, else `auto`.
 * - `auto`: WebGPU (TensorFlow.js on Dawn) for large products where a GPU adapter starts, onnxruntime for the
 *   middle sizes (all of them without a GPU), the TypeScript f64 kernel for tiny ones; where onnxruntime cannot
 *   load either, the TypeScript kernel alone, with a one-line warning. WebGPU is tried once per process: on a
 *   machine without a Vulkan loader that is a few file checks, and TensorFlow.js is not loaded.
 * - `webgpu`: WebGPU for every product; rejects with MatmulEngineError saying why if it cannot start.
 * - `onnxruntime`: onnxruntime for every product; rejects if it cannot load.
 * - `typescript`: the TypeScript f64 kernel for every product.
 */
export function getMatmulEngine(
  preference: MatmulEnginePreference = matmulEnginePreferenceFromEnv(),
): Promise<MatmulTransposedEngine> {
  let engine = engines.get(preference);
  if (!engine) {
    engine = createMatmulEngine(preference);
    engines.set(preference, engine);
    // A failed load is not cached, so a later call can retry.
    engine.catch(() => engines.delete(preference));
  }
  return engine;
}

async function createMatmulEngine(preference: MatmulEnginePreference): Promise<MatmulTransposedEngine> {
  const typescript = new TypescriptMatmulEngine();
  switch (preference) {
    case 'typescript':
      return typescript;
    case 'onnxruntime':
      return OnnxruntimeMatmulEngine.create();
    case 'webgpu':
      try {
        return await startWebGpuEngine();
      } catch (error) {
        throw new MatmulEngineError(
          `matmul engine 'webgpu' was requested but cannot start: ${firstLine(error)}`,
        );
      }
    case 'auto': {
      const cpu = await cpuEngine(typescript);
      let gpu: TfjsMatmulEngine;
      try {
        gpu = await startWebGpuEngine();
      } catch (error) {
        // Without a GPU this is the normal outcome; with one, the user should learn why it sits idle.
        if (nvidiaGpuPresent())
          console.warn(`matmul: WebGPU unavailable (${firstLine(error)}); using ${cpu.name}`);
        return cpu;
      }
      return new SizeSwitchingMatmulEngine(cpu, gpu, DEFAULT_GPU_MIN_MULTIPLY_ADDS);
    }
  }
}

/** onnxruntime with the TypeScript kernel for tiny products, or the TypeScript kernel alone. */
async function cpuEngine(typescript: TypescriptMatmulEngine): Promise<MatmulTransposedEngine> {
  try {
    return new SizeSwitchingMatmulEngine(typescript, await OnnxruntimeMatmulEngine.create());
  } catch (error) {
    console.warn(
      `matmul: onnxruntime unavailable (${firstLine(error)}); using the TypeScript kernel (slow on large layers)`,
    );
    return typescript;
  }
}

/**
 * Starts Dawn and registers tfjs's `webgpu` backend (shared with forward passes), then an engine on it. Loaded on
 * demand: the alignment path should not load TensorFlow.js unless it computes with it.
 */
async function startWebGpuEngine(): Promise<TfjsMatmulEngine> {
  const missingLoader = missingVulkanLoader();
  if (missingLoader !== undefined) throw new MatmulEngineError(missingLoader);
  const { startWebGpu } = await import('../compute/webgpu-backend.js');
  const adapter = await startWebGpu();
  const { TfjsMatmulEngine } = await import('./tfjs-matmul-engine.js');
  return TfjsMatmulEngine.create('webgpu', { detail: adapter });
}

function nvidiaGpuPresent(): boolean {
  return existsSync('/dev/nvidia0');
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0];
}
