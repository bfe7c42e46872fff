/**
 * GPU device check for the cost-matrix engine (not part of the tests): the tfjs-webgpu engine (MAL_MATMUL=webgpu,
 * through src/compute/webgpu-backend.ts) against onnxruntime on the CPU, on the cost-matrix products of one
 * LLaMA-7B block (4096 hidden units, 11008 MLP units):
 *   - 11008×11008·4096: the MLP space (gate/up rows, down columns), depth 4096;
 *   - 4096×4096·11008: the hidden space seen through the MLP weights, depth 11008.
 * Each shape runs as A·Bᵀ (`run`, the kernel's transposeB and host transposes) and as Aᵀ·B (`runTransposedA`).
 * Then the crossover: n³ products where the GPU's round trip starts to beat onnxruntime (which sets
 * DEFAULT_GPU_MIN_MULTIPLY_ADDS in get-matmul-engine.ts).
 *
 *   npx tsx bench/gpu-matmul-check.ts [--shapes 11008x11008x4096,4096x4096x11008] [--repeats 3]
 *                                     [--crossover 128,256,512,1024,2048] [--threads N] [--no-transposed-a]
 *
 * `--backend cpu --shapes 40x30x50 --crossover 16,32` tries the script out on TensorFlow.js's cpu backend.
 *
 * Exits 0 with a message where WebGPU cannot start (CPU-only machines), 1 if a GPU product differs from
 * onnxruntime's beyond float32 rounding. Times include upload and read-back: that is what a cost matrix pays.
 */
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, parseBackendPreference } from '../src/compute/backend.js';
import { DEFAULT_GPU_MIN_MULTIPLY_ADDS, getMatmulEngine } from '../src/linalg/get-matmul-engine.js';
import { type MatmulTransposedEngine, runTransposedA } from '../src/linalg/matmul-engine.js';
import { OnnxruntimeMatmulEngine } from '../src/linalg/onnxruntime-matmul-engine.js';
import { TfjsMatmulEngine } from '../src/linalg/tfjs-matmul-engine.js';
import { SeededRandom } from '../src/random/seeded-random.js';

interface Shape {
  readonly rows: number;
  readonly cols: number;
  readonly depth: number;
}

const LLAMA_7B_BLOCK = '11008x11008x4096,4096x4096x11008';

function parseShapes(text: string): Shape[] {
  return text.split(',').map((item) => {
    const [rows, cols, depth] = item.split('x').map(Number);
    if (![rows, cols, depth].every((n) => Number.isInteger(n) && n > 0)) {
      throw new Error(`--shapes: '${item}' is not rows x cols x depth`);
    }
    return { rows, cols, depth };
  });
}

function randomOperand(length: number, random: SeededRandom): Float32Array {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = random.next() * 2 - 1;
  return out;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Median seconds of `repeats` timed calls after one untimed call, and the last result. */
async function timed(
  product: () => Promise<Float32Array | Float64Array>,
  repeats: number,
): Promise<{ seconds: number; result: Float32Array | Float64Array }> {
  let result = await product();
  const seconds: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const start = performance.now();
    result = await product();
    seconds.push((performance.now() - start) / 1e3);
  }
  return { seconds: median(seconds), result };
}

function maxAbsDifference(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]));
  return worst;
}

const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(2)} GiB`;

export async function main(args: string[] = process.argv.slice(2)): Promise<number> {
  const option = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const shapes = parseShapes(option('--shapes') ?? LLAMA_7B_BLOCK);
  const repeats = Number(option('--repeats') ?? 3);
  const crossover = (option('--crossover') ?? '128,256,512,1024,2048').split(',').filter(Boolean).map(Number);
  const threads = Number(option('--threads') ?? availableParallelism());
  const transposedA = !args.includes('--no-transposed-a');

  // Another backend (cpu, wasm) only to try this script out on a machine without a GPU, on small shapes.
  const backendName = option('--backend') ?? 'webgpu';
  let gpu: MatmulTransposedEngine;
  try {
    if (backendName === 'webgpu') gpu = await getMatmulEngine('webgpu');
    else {
      await initBackend(parseBackendPreference(backendName, '--backend'));
      gpu = await TfjsMatmulEngine.create(backendName);
    }
  } catch (error) {
    console.log(`${backendName} unavailable; skipping the GPU matmul check. ${String(error).split('\n')[0]}`);
    return 0;
  }
  const gpuHost = await TfjsMatmulEngine.create(backendName, { transposeSite: 'host' });
  const cpu = await OnnxruntimeMatmulEngine.create({ threads });
  const backend = tf.findBackend(backendName);
  console.log(`GPU engine: ${gpu.name}`);
  console.log(`  largest tensor per call: ${gib(gpuHost.maxTensorElements * 4)}`);
  console.log(`CPU engine: ${cpu.name}`);
  console.log(`auto here: ${(await getMatmulEngine('auto')).name}`);
  console.log(
    `Times: median of ${repeats} after one warm-up, upload and read-back included (onnxruntime: 1 timed run).\n`,
  );

  const header = ['product', 'engine', 'seconds', 'TFLOP/s', 'max |Δ| vs ort', 'allowed'];
  console.log(header.join(' | '));
  let failed = false;
  for (const [index, shape] of shapes.entries()) {
    const { rows, cols, depth } = shape;
    const random = new SeededRandom(index + 1);
    const a = randomOperand(rows * depth, random);
    const b = randomOperand(cols * depth, random);
    const flop = 2 * rows * cols * depth;
    // Both sides sum in float32 with |entries| ≤ 1: each entry is off by ~√depth·2⁻²⁴·√depth typically and at
    // most depth·2⁻²⁴·depth; 64 times the typical error flags a wrong product, not rounding.
    const allowed = 64 * depth * 2 ** -24;
    const label = `${rows}×${cols}·${depth}`;
    const variants: [string, (e: MatmulTransposedEngine) => Promise<Float32Array | Float64Array>][] = [
      [`${label} A·Bᵀ`, (e) => e.run(a, b, rows, cols, depth)],
    ];
    // The same arrays read as depth × rows and depth × cols operands.
    if (transposedA) variants.push([`${label} Aᵀ·B`, (e) => runTransposedA(e, a, b, rows, cols, depth)]);
    for (const [name, product] of variants) {
      const reference = await timed(() => product(cpu), 1);
      console.log(
        `${name} | ${cpu.name} | ${reference.seconds.toFixed(3)} | ${(flop / reference.seconds / 1e12).toFixed(2)} | | `,
      );
      for (const [engineName, engine] of [
        [`${backendName}, kernel transposes`, gpu],
        [`${backendName}, host transposes`, gpuHost],
      ] as const) {
        const measured = await timed(() => product(engine), repeats);
        const difference = maxAbsDifference(measured.result, reference.result);
        if (!(difference <= allowed)) failed = true;
        console.log(
          `${name} | ${engineName} | ${measured.seconds.toFixed(3)} | ${(flop / measured.seconds / 1e12).toFixed(2)} | ` +
            `${difference.toExponential(2)} | ${allowed.toExponential(2)}`,
        );
      }
    }
    console.log(`  GPU memory after ${label}: ${JSON.stringify(backend.memory())}`);
  }

  console.log(
    `\nCrossover (n×n·n, A·Bᵀ): auto sends products above ${DEFAULT_GPU_MIN_MULTIPLY_ADDS} multiply-adds ` +
      `(${Math.round(Math.cbrt(DEFAULT_GPU_MIN_MULTIPLY_ADDS))}³) to the GPU.`,
  );
  console.log(`n | ort ms | ${backendName} ms | ${backendName}/ort time`);
  for (const n of crossover) {
    const random = new SeededRandom(n);
    const a = randomOperand(n * n, random);
    const b = randomOperand(n * n, random);
    const ort = await timed(() => cpu.run(a, b, n, n, n), Math.max(repeats, 5));
    const webgpu = await timed(() => gpu.run(a, b, n, n, n), Math.max(repeats, 5));
    console.log(
      `${n} | ${(ort.seconds * 1e3).toFixed(2)} | ${(webgpu.seconds * 1e3).toFixed(2)} | ${(webgpu.seconds / ort.seconds).toFixed(2)}`,
    );
  }
  console.log(
    `\nGPU memory at the end: ${JSON.stringify(backend.memory())}, ${backend.numDataIds()} live tensors`,
  );
  await cpu.dispose();
  console.log(failed ? '\nFAIL: a GPU product differs from onnxruntime beyond float32 rounding' : '\nOK');
  return failed ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main();
}
