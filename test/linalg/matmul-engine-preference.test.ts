import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import {
  isMatmulEnginePreference,
  matmulEnginePreferenceFromEnv,
  parseMatmulEnginePreference,
} from '../../src/linalg/matmul-engine-preference.js';

describe('matmul engine preference', () => {
  it('reads MAL_MATMUL, defaulting to auto, case and spaces aside', () => {
    expect(matmulEnginePreferenceFromEnv({})).toBe('auto');
    expect(matmulEnginePreferenceFromEnv({ MAL_MATMUL: '  ' })).toBe('auto');
    expect(matmulEnginePreferenceFromEnv({ MAL_MATMUL: ' WebGPU ' })).toBe('webgpu');
    expect(matmulEnginePreferenceFromEnv({ MAL_MATMUL: 'onnxruntime' })).toBe('onnxruntime');
  });

  it('refuses an unknown engine, naming where it came from and the choices', () => {
    expect(() => matmulEnginePreferenceFromEnv({ MAL_MATMUL: 'cuda' })).toThrow(
      new UsageError(
        "MAL_MATMUL: unknown matmul engine 'cuda'; expected one of auto, webgpu, onnxruntime, typescript",
      ),
    );
    expect(() => parseMatmulEnginePreference('wasm', '--matmul')).toThrow(
      /^--matmul: unknown matmul engine 'wasm'/,
    );
    expect(isMatmulEnginePreference('typescript')).toBe(true);
    expect(isMatmulEnginePreference('TypeScript')).toBe(false);
  });
});
