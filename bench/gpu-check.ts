/**
 * GPU device check (not part of the tests): times TensorFlow.js on WebGPU (Dawn) for the cost-matrix product
 * `A·Bᵀ` against the CPU engine on n × n operands, and compares the results.
 *
 *   npx tsx bench/gpu-check.ts --backend webgpu [--sizes 1024,2048,4096] [--repeats 5]
 *
 * Exits 0 with a message where no WebGPU adapter is available (CPU-only machines), 1 if the GPU result
 * differs from the CPU one by more than float32 rounding allows. Self-contained on purpose: it sets up Dawn and
 * the tfjs backend itself, so it runs on a GPU host with nothing but this file's imports.
 */
/// <reference types="@webgpu/types" />
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { getMatmulEngine } from '../src/linalg/get-matmul-engine.js';
import { SeededRandom } from '../src/random/seeded-random.js';

interface DawnModule {
  create(options: string[]): GPU;
  globals: object;
}

/** Starts tfjs on WebGPU; resolves to the adapter's description, or null (with the reason) if there is none. */
async function startWebGpu(): Promise<{ adapter: string } | { unavailable: string }> {
  let dawn: DawnModule;
  try {
    const specifier: string = 'webgpu';
    dawn = (await import(specifier)) as DawnModule;
  } catch (error) {
    return { unavailable: `the 'webgpu' package (Dawn) did not load: ${String(error).split('\n')[0]}` };
  }
  // tfjs-backend-webgpu reads GPUBufferUsage, GPUMapMode, … as globals, as in a browser.
  Object.assign(globalThis, dawn.globals);
  const gpu = dawn.create([]);
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (error) {
    return { unavailable: `requestAdapter failed: ${String(error).split('\n')[0]}` };
  }
  if (adapter === null) return { unavailable: 'Dawn found no WebGPU adapter' };
  // Ask for the adapter's own buffer limits: the defaults (256 MiB bindings) are too small for large operands.
  const device = await adapter.requestDevice({
    requiredLimits: {
      maxBufferSize: adapter.limits.maxBufferSize,
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
    },
  });
  // WebGPUBackend checks navigator.gpu: Node 20 has no navigator, Node 21+ one without gpu.
  const holder = globalThis as { navigator?: object };
  if (holder.navigator === undefined) {
    Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  } else if (!('gpu' in holder.navigator)) {
    Object.defineProperty(holder.navigator, 'gpu', { value: gpu, configurable: true });
  }
  const { WebGPUBackend } = await import('@tensorflow/tfjs-backend-webgpu');
  // The package registers its own factory on import when navigator.gpu exists: use ours, with this device.
  if (tf.findBackendFactory('webgpu') !== null) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => new WebGPUBackend(device, adapter.info));
  await tf.setBackend('webgpu');
  await tf.ready();
  const info = adapter.info;
  const words = [info.vendor, info.architecture, info.device, info.description].filter((w) => w !== '');
  return { adapter: words.join(' ') || 'unknown adapter' };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function randomOperand(length: number, random: SeededRandom): Float32Array {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = random.next() * 2 - 1;
  return out;
}

export async function main(args: string[] = process.argv.slice(2)): Promise<number> {
  const option = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const backend = option('--backend');
  if (backend !== 'webgpu') {
    console.log('usage: npx tsx bench/gpu-check.ts --backend webgpu [--sizes 1024,2048,4096] [--repeats 5]');
    return backend === undefined ? 0 : 2;
  }
  const sizes = (option('--sizes') ?? '1024,2048,4096').split(',').map(Number);
  const repeats = Number(option('--repeats') ?? 5);

  const started = await startWebGpu();
  if ('unavailable' in started) {
    console.log(`No WebGPU adapter available (${started.unavailable}); skipping the GPU check.`);
    return 0;
  }
  const cpu = await getMatmulEngine('auto');
  console.log(`GPU: ${started.adapter} (tfjs ${tf.version_core}, backend ${tf.getBackend()})`);
  console.log(`CPU: ${cpu.name}, ${availableParallelism()} cores`);
  console.log(
    'GPU times: matMul(a, b, false, true) and reading the result back; operands uploaded beforehand.\n',
  );
  console.log(
    `${'n'.padStart(6)} ${'cpu GFLOP/s'.padStart(12)} ${'gpu GFLOP/s'.padStart(12)} ${'gpu/cpu'.padStart(8)} ${'max |Δ|'.padStart(10)} ${'allowed'.padStart(10)}`,
  );
  let failed = false;
  for (const n of sizes) {
    const random = new SeededRandom(n);
    const a = randomOperand(n * n, random);
    const b = randomOperand(n * n, random);
    const flop = 2 * n ** 3;

    await cpu.run(a, b, n, n, n);
    const cpuSeconds: number[] = [];
    let reference: Float32Array | Float64Array = new Float32Array(0);
    for (let r = 0; r < repeats; r++) {
      const t = performance.now();
      reference = await cpu.run(a, b, n, n, n);
      cpuSeconds.push((performance.now() - t) / 1e3);
    }

    const ta = tf.tensor2d(a, [n, n]);
    const tb = tf.tensor2d(b, [n, n]);
    const gpuProduct = async () => {
      const c = tf.matMul(ta, tb, false, true);
      const data = (await c.data()) as Float32Array;
      c.dispose();
      return data;
    };
    await gpuProduct();
    const gpuSeconds: number[] = [];
    let product: Float32Array = new Float32Array(0);
    for (let r = 0; r < repeats; r++) {
      const t = performance.now();
      product = await gpuProduct();
      gpuSeconds.push((performance.now() - t) / 1e3);
    }
    ta.dispose();
    tb.dispose();

    let maxDiff = 0;
    for (let i = 0; i < product.length; i++) maxDiff = Math.max(maxDiff, Math.abs(product[i] - reference[i]));
    // Both sides sum in float32; with |entries| ≤ 1, each result is off by at most ~n·2⁻²⁴·n in the worst case,
    // and by ~√n·2⁻²⁴·√n typically. Allow 64 times the typical error.
    const allowed = 64 * n * 2 ** -24;
    if (!(maxDiff <= allowed)) failed = true;
    const cpuRate = flop / median(cpuSeconds) / 1e9;
    const gpuRate = flop / median(gpuSeconds) / 1e9;
    console.log(
      `${String(n).padStart(6)} ${cpuRate.toFixed(1).padStart(12)} ${gpuRate.toFixed(1).padStart(12)} ${(gpuRate / cpuRate).toFixed(2).padStart(8)} ${maxDiff.toExponential(2).padStart(10)} ${allowed.toExponential(2).padStart(10)}`,
    );
  }
  console.log(failed ? '\nFAIL: the GPU product differs from the CPU one beyond float32 rounding' : '\nOK');
  return failed ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main();
}
