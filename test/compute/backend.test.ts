import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  BackendError,
  backendPreferenceFromEnv,
  describeBackend,
  initBackend,
  parseBackendPreference,
} from '../../src/compute/backend.js';
import { MalError, UsageError } from '../../src/errors.js';

// This machine has no GPU, no tfjs-node and no WebGPU adapter; on another machine `auto` may rightly choose more.
const bareMachine = process.env['MAL_TEST_BACKENDS'] === undefined;

describe('initBackend', () => {
  it.runIf(bareMachine)('auto picks wasm (SIMD) when there is no GPU and no tfjs-node', async () => {
    const info = await initBackend('auto');
    expect(info).toMatchObject({ name: 'wasm', automatic: true });
    expect(info.detail).toMatch(/simd/);
    expect(tf.getBackend()).toBe('wasm');
    expect(describeBackend(info)).toBe('backend: wasm (simd, 1 thread), chosen automatically');
  });

  it('is idempotent: the same request returns the same answer', async () => {
    const first = initBackend('wasm');
    expect(initBackend('wasm')).toBe(first);
    expect(await first).toMatchObject({ name: 'wasm', automatic: false });
  });

  it('forcing cpu works and switches tfjs to it', async () => {
    const info = await initBackend('cpu');
    expect(info).toEqual({
      name: 'cpu',
      detail: 'plain JavaScript, tfjs-backend-cpu 4.22.0',
      automatic: false,
    });
    expect(tf.getBackend()).toBe('cpu');
    expect(tf.add(tf.scalar(2), tf.scalar(3)).dataSync()[0]).toBe(5);
  });

  it.runIf(bareMachine)('forcing tfjs-node fails with a clear message, never falling back', async () => {
    await initBackend('cpu');
    const attempt = initBackend('tfjs-node');
    await expect(attempt).rejects.toThrow(BackendError);
    await expect(initBackend('tfjs-node')).rejects.toThrow(
      /backend 'tfjs-node' was requested but cannot start: @tensorflow\/tfjs-node is not installed/,
    );
    expect(tf.getBackend()).toBe('cpu');
  });

  it.runIf(bareMachine)('forcing webgpu without an adapter fails', async () => {
    await expect(initBackend('webgpu')).rejects.toThrow(/backend 'webgpu' was requested but cannot start/);
  });
});

describe('backend preference', () => {
  it('reads MAL_BACKEND, defaulting to auto', () => {
    expect(backendPreferenceFromEnv({})).toBe('auto');
    expect(backendPreferenceFromEnv({ MAL_BACKEND: ' ' })).toBe('auto');
    expect(backendPreferenceFromEnv({ MAL_BACKEND: 'WASM' })).toBe('wasm');
    expect(() => backendPreferenceFromEnv({ MAL_BACKEND: 'cuda' })).toThrow(UsageError);
    expect(() => parseBackendPreference('cuda', '--backend')).toThrow(
      "--backend: unknown backend 'cuda'; expected one of auto, tfjs-node-gpu, tfjs-node, webgpu, wasm, cpu",
    );
    expect(new BackendError('x')).toBeInstanceOf(MalError);
  });
});
