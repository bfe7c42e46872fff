import { afterEach, describe, expect, it, vi } from 'vitest';

// As on a platform for which onnxruntime-node ships no binaries: importing it fails.
vi.mock('onnxruntime-node', () => {
  throw new Error('Cannot find module onnxruntime_binding.node');
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('getMatmulEngine where onnxruntime cannot load', () => {
  it("'auto' falls back to the TypeScript engine with a one-line warning", async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const { getMatmulEngine } = await import('../../src/linalg/get-matmul-engine.js');
    const { TypescriptMatmulEngine } = await import('../../src/linalg/typescript-matmul-engine.js');
    const engine = await getMatmulEngine('auto');
    expect(engine).toBeInstanceOf(TypescriptMatmulEngine);
    expect(warn).toHaveBeenCalledTimes(1);
    const message = String(warn.mock.calls[0][0]);
    expect(message).toMatch(/onnxruntime unavailable/);
    expect(message).not.toContain('\n');
    // The fallback is cached: no second warning.
    expect(await getMatmulEngine('auto')).toBe(engine);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(
      Array.from(await engine.run(Float32Array.from([1, 2]), Float32Array.from([3, 4]), 1, 1, 2)),
    ).toEqual([11]);
  });

  it("'onnxruntime' rejects instead of falling back", async () => {
    const { getMatmulEngine } = await import('../../src/linalg/get-matmul-engine.js');
    await expect(getMatmulEngine('onnxruntime')).rejects.toThrow();
  });
});
