import type { MatmulEnginePreference, MatmulTransposedEngine } from './matmul-engine.js';
import { OnnxruntimeMatmulEngine } from './onnxruntime-matmul-engine.js';
import { SizeSwitchingMatmulEngine } from './size-switching-matmul-engine.js';
import { TypescriptMatmulEngine } from './typescript-matmul-engine.js';

/** One engine per preference per process: the onnxruntime session and its thread pool are built once. */
const engines = new Map<MatmulEnginePreference, Promise<MatmulTransposedEngine>>();

/**
 * The engine for cost-matrix products.
 * - `auto` (default): onnxruntime for large products and the TypeScript f64 kernel for tiny ones; where
 *   onnxruntime cannot load (no binaries for this platform, say), the TypeScript kernel alone, with a one-line
 *   warning.
 * - `onnxruntime`: onnxruntime for every product; rejects if it cannot load.
 * - `typescript`: the TypeScript f64 kernel for every product.
 */
export function getMatmulEngine(
  preference: MatmulEnginePreference = 'auto',
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
    case 'auto':
      try {
        return new SizeSwitchingMatmulEngine(typescript, await OnnxruntimeMatmulEngine.create());
      } catch (error) {
        const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
        console.warn(
          `matmul: onnxruntime unavailable (${reason}); using the TypeScript kernel (slow on large layers)`,
        );
        return typescript;
      }
  }
}
